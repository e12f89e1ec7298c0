/*
 * The natural photos of data/photos: where each comes from on a Debian 12
 * machine, what it shows, and the licence the packaging states for it.
 * make-photos.ts reads this table; nothing here is fetched from a network.
 */

export interface PhotoPackage {
  /** Debian package and the version the committed photos were made from. */
  apt: string;
  version: string;
  /** Where the files lie once the package is installed. */
  root: string;
  /** Short prefix of the output names. */
  prefix: string;
  /** What Debian's copyright file (/usr/share/doc/<package>/copyright) says for these files. */
  licence: string;
}

export const PACKAGES = {
  opencv: {
    apt: 'opencv-doc', version: '4.6.0+dfsg-12', root: '/usr/share/doc/opencv-doc/examples', prefix: 'opencv',
    licence: 'Apache-2.0 AND BSD-3-Clause (opencv-doc copyright, `Files: *`; upstream names no photographer)',
  },
  darknet: {
    apt: 'darknet', version: '0.0.0+git20180914.61c9d02e-2+b4', root: '/usr/share/darknet/data', prefix: 'darknet',
    licence: 'GPL-3.0+ or MIT or WTFPL (darknet copyright, `Files: *`; upstream names no photographer)',
  },
  skimage: {
    apt: 'python3-skimage', version: '0.19.3-8', root: '/usr/lib/python3/dist-packages/skimage/data', prefix: 'skimage',
    licence: 'BSD-3-Clause (python3-skimage copyright, `Files: *`)',
  },
} as const satisfies Record<string, PhotoPackage>;

export type PackageKey = keyof typeof PACKAGES;

export interface PhotoSource {
  pkg: PackageKey;
  /** Path under the package's root. */
  file: string;
  /** First 16 hex digits of the source file's SHA-256, so a changed source is noticed before it changes the photos. */
  sha256: string;
  shows: string;
  /** The photo's own licence where the package documents one (scikit-image's docstrings), else the package's. */
  licence?: string;
}

export const PHOTO_SOURCES: readonly PhotoSource[] = [
  { pkg: 'opencv', file: 'data/aero1.jpg', sha256: 'd9a69191f6e3642e', shows: 'aerial view of a town' },
  { pkg: 'opencv', file: 'data/aero3.jpg', sha256: '1c407146f8762b3b', shows: 'aerial view of a coast' },
  { pkg: 'opencv', file: 'data/aloeL.jpg', sha256: 'cce5736808efe80d', shows: 'aloe plant in a pot' },
  { pkg: 'opencv', file: 'data/apple.jpg', sha256: 'e86879de3d9a807d', shows: 'an apple' },
  { pkg: 'opencv', file: 'data/baboon.jpg', sha256: '1a1dd18d78eec444', shows: 'mandrill face' },
  { pkg: 'opencv', file: 'data/basketball1.png', sha256: 'ba06f6701f726099', shows: 'two people playing with a ball indoors (grey)' },
  { pkg: 'opencv', file: 'data/board.jpg', sha256: '4c9a24ba67138ad5', shows: 'circuit board' },
  { pkg: 'opencv', file: 'data/box_in_scene.png', sha256: '8b0225ff76244a42', shows: 'boxes on a desk (grey)' },
  { pkg: 'opencv', file: 'data/building.jpg', sha256: '742a1baad62ac82e', shows: 'office building' },
  { pkg: 'opencv', file: 'data/butterfly.jpg', sha256: '34a99716b78ded10', shows: 'butterfly on a leaf' },
  { pkg: 'opencv', file: 'data/chicky_512.png', sha256: '4d2cf040de084fd3', shows: 'small dog' },
  { pkg: 'opencv', file: 'data/ela_original.jpg', sha256: 'b55798b35e2dcb24', shows: 'notebook with an elastic band' },
  { pkg: 'opencv', file: 'data/fruits.jpg', sha256: '9c031d80a1c52da5', shows: 'cut citrus fruit and kiwi' },
  { pkg: 'opencv', file: 'data/graf1.png', sha256: '1504b769303c7bde', shows: 'graffiti wall' },
  { pkg: 'opencv', file: 'data/home.jpg', sha256: '23b8cf46a1965d0e', shows: 'palace facade and sky' },
  { pkg: 'opencv', file: 'data/left.jpg', sha256: 'fb314330c3eb0a81', shows: 'books on a floor' },
  { pkg: 'opencv', file: 'data/leuvenA.jpg', sha256: 'b2977cdbd9fb3f94', shows: 'street of brick houses' },
  { pkg: 'opencv', file: 'data/licenseplate_motion.jpg', sha256: 'ea6fa9cea75df91b', shows: 'rear of a car, motion-blurred' },
  { pkg: 'opencv', file: 'data/orange.jpg', sha256: '152c20d2f380ac98', shows: 'an orange' },
  { pkg: 'opencv', file: 'data/pca_test1.jpg', sha256: '9aae52b2bf730216', shows: 'objects on a sheet of paper' },
  { pkg: 'opencv', file: 'data/rubberwhale1.png', sha256: 'eb312435369dac9e', shows: 'toys on a table' },
  { pkg: 'opencv', file: 'data/squirrel_cls.jpg', sha256: '20bb6e8ae96918a3', shows: 'squirrel on a branch' },
  { pkg: 'opencv', file: 'data/stuff.jpg', sha256: '21cd00afbdd0727f', shows: 'pen, lighter and round objects on a table' },
  { pkg: 'opencv', file: 'hfs/data/000.jpg', sha256: 'e4fec7e2e67a8a42', shows: 'robin' },
  { pkg: 'opencv', file: 'hfs/data/001.jpg', sha256: '4bcbe0927a8b50f2', shows: 'lake and hills' },
  { pkg: 'opencv', file: 'hfs/data/002.jpg', sha256: '21b07a5287dec030', shows: 'tree in a meadow' },
  { pkg: 'opencv', file: 'alphamat/input_images/plant.jpg', sha256: '9928b44eee0d1d7a', shows: 'potted plant' },
  { pkg: 'opencv', file: 'reg/home.png', sha256: '205d424fb53bc9a2', shows: 'brick house' },
  { pkg: 'darknet', file: 'dog.jpg', sha256: '5a9522051c3cec2b', shows: 'dog, bicycle and car' },
  { pkg: 'darknet', file: 'eagle.jpg', sha256: 'f95f57297fd51a6c', shows: 'eagle on the ground' },
  { pkg: 'darknet', file: 'giraffe.jpg', sha256: '00dc48a9b2af8a1f', shows: 'giraffe and zebra' },
  { pkg: 'darknet', file: 'horses.jpg', sha256: 'c8f0a677a1356569', shows: 'horses in a field' },
  { pkg: 'darknet', file: 'kite.jpg', sha256: '87410f52f79cc256', shows: 'beach with kites' },
  { pkg: 'darknet', file: 'person.jpg', sha256: 'cdcbab947e46110f', shows: 'a person with a dog and a horse' },
  { pkg: 'skimage', file: 'astronaut.png', sha256: '88431cd9653ccd53', shows: 'astronaut portrait', licence: 'public domain (NASA)' },
  { pkg: 'skimage', file: 'chelsea.png', sha256: '596aa1e7cb875eb7', shows: 'cat', licence: 'CC0 (the photographer)' },
  { pkg: 'skimage', file: 'coffee.png', sha256: 'cc02f8ca188b167c', shows: 'coffee cup', licence: 'CC0 (the photographer)' },
  { pkg: 'skimage', file: 'rocket.jpg', sha256: 'c2dd0de7c538df8d', shows: 'rocket on its launch pad at night', licence: 'public domain (SpaceX)' },
  { pkg: 'skimage', file: 'motorcycle_left.png', sha256: 'db18e9c415761740', shows: 'motorcycle in a workshop', licence: 'BSD-3-Clause as part of scikit-image (from the Middlebury 2014 stereo set, which states no licence)' },
  { pkg: 'skimage', file: 'hubble_deep_field.jpg', sha256: '3a19c5dd8a927a93', shows: 'telescope view of galaxies', licence: 'public domain (NASA)' },
  { pkg: 'skimage', file: 'retina.jpg', sha256: '38a07f36f27f095e', shows: 'fundus photograph of a retina', licence: 'CC0' },
  { pkg: 'skimage', file: 'ihc.png', sha256: 'f8dd1aa387ddd1f4', shows: 'stained tissue under a microscope', licence: 'no known copyright restrictions' },
  { pkg: 'skimage', file: 'coins.png', sha256: 'f8d773fc9cfa6f4d', shows: 'ancient coins (grey)', licence: 'no known copyright restrictions (Brooklyn Museum)' },
  { pkg: 'skimage', file: 'clock_motion.png', sha256: 'f029226b28b642e8', shows: 'wall clock, motion-blurred (grey)', licence: 'public domain (the photographer)' },
  { pkg: 'skimage', file: 'gravel.png', sha256: 'c48615b451bf1e60', shows: 'gravel (grey)', licence: 'CC0 (CC0Textures)' },
  { pkg: 'skimage', file: 'brick.png', sha256: '7966caf324f6ba84', shows: 'brick wall (grey)', licence: 'CC0 (CC0Textures)' },
];

/** Output name: the package prefix and the source path, flattened (`opencv-hfs-000.jpg`). */
export function photoName(s: PhotoSource): string {
  const stem = s.file.replace(/\.[a-z]+$/i, '').replace(/^data\//, '').replace(/\/(input_images|data)\//g, '/').replace(/[/_]/g, '-');
  return `${PACKAGES[s.pkg].prefix}-${stem.toLowerCase()}.jpg`;
}
