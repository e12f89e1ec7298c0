/*
 * The images of data/text: which files of Debian's opencv-doc they come
 * from (the samples of OpenCV's text module, installed under
 * examples/text), what role each plays, and the text crops that
 * recognition calibrates on. make-text-data.ts reads this table.
 */

export const OPENCV_DOC = {
  apt: 'opencv-doc',
  version: '4.6.0+dfsg-12',
  root: '/usr/share/doc/opencv-doc/examples/text',
  licence: 'Apache-2.0 AND BSD-3-Clause',
  licenceNote: '/usr/share/doc/opencv-doc/copyright, `Files: *`; these sample images are not listed separately, and upstream names no photographer',
} as const;

export interface TextSource {
  /** File name under OPENCV_DOC.root (also the name in data/text). */
  file: string;
  /** First 16 hex digits of the source's SHA-256, so a changed source is noticed before it changes the data. */
  sha256: string;
  shows: string;
}

/** The four cropped words of known text: the recognition test set, copied byte for byte. */
export const WORDS: readonly (TextSource & { text: string })[] = [
  { file: 'scenetext_word01.jpg', sha256: '12106f10018a6c8e', text: 'CHINA', shows: 'dark capitals on a grey plate, 109 x 32' },
  { file: 'scenetext_word02.jpg', sha256: '73dfd0410033b674', text: 'HERE', shows: 'thin black capitals on white, 242 x 102' },
  { file: 'scenetext_word03.jpg', sha256: '6fdcbf406cd0710b', text: 'riser', shows: 'grey lower-case letters on a dark red display, 234 x 74' },
  { file: 'scenetext_word04.jpg', sha256: '121c74707b905b98', text: 'Produkt', shows: 'dot-matrix letters on a green LCD, blurred, 487 x 121' },
];

/** Scenes with text: detection's evaluation images. */
export const SCENES: readonly TextSource[] = [
  { file: 'scenetext01.jpg', sha256: '7f3041a7019ab4d3', shows: 'street with a parking sign (five lines), a car, a news box' },
  { file: 'scenetext02.jpg', sha256: 'd4295bff9f348012', shows: 'road sign with four lines under a tree, dusk' },
  { file: 'scenetext03.jpg', sha256: 'cadf4a3d29a7ba6f', shows: "'the copy centre' sign under a concrete walkway" },
  { file: 'scenetext04.jpg', sha256: '28e08d142a04f92f', shows: "generator labelled 'GM 125' behind a wall, palm trees" },
  { file: 'scenetext05.jpg', sha256: '63985ac1a9989a83', shows: "two 'NO PARKING' barriers on a pavement" },
  { file: 'scenetext06.jpg', sha256: 'e4d64f10bbfb27b2', shows: 'shop front and hanging sign of a gallery, street' },
];

/** Scenes with text that detection calibrates on (with data/photos/calib). */
export const DET_CALIB: readonly TextSource[] = [
  { file: 'scenetext_segmented_word01.jpg', sha256: 'b1524d1ae02ba1ee', shows: "'HOTEL' on a canopy under flowers" },
  { file: 'scenetext_segmented_word02.jpg', sha256: '1c648c38ebf82696', shows: "shop sign 'Stationery Box'" },
  { file: 'scenetext_segmented_word03.jpg', sha256: '6f60d1b006b81d95', shows: 'green sign with four lines' },
  { file: 'scenetext_segmented_word04.jpg', sha256: '43524ab83453638e', shows: "'FOSTER'S' sign above a shelf of cans" },
  { file: 'scenetext_segmented_word05.jpg', sha256: '3c805afc79559644', shows: "'SANYO' and 'PRO xtraX' on a projector" },
];

/**
 * Recognition's calibration crops: the boxes PP-OCRv4's float32 detector
 * finds in the eleven scenes above (the map binarised at 0.3, boxes with a
 * mean probability >= 0.6, grown by PP-OCR's unclip ratio 1.5; found on the
 * scene area-averaged to a longer side of 640 and scaled back), as
 * [x0, y0, x1, y1) in the source's pixels. Frozen here (printed by
 * make-text-data.ts --find-boxes) so the crops do not depend on the
 * detector's last bits on a given CPU. They include what PP-OCR would pass
 * to its recogniser that is not text (parts of a shelf of cans, a green
 * edge), as in use. None of them is one of the four test words.
 */
export const REC_CALIB_BOXES: Readonly<Record<string, readonly (readonly [number, number, number, number])[]>> = {
  'scenetext01.jpg': [[275, 35, 431, 79], [276, 85, 425, 124], [275, 128, 425, 166], [274, 170, 425, 209], [283, 214, 410, 253]],
  'scenetext02.jpg': [[418, 600, 808, 718], [416, 670, 816, 788], [412, 738, 914, 864], [424, 822, 694, 914]],
  'scenetext03.jpg': [[193, 533, 629, 630], [127, 574, 191, 615]],
  'scenetext04.jpg': [[690, 376, 734, 397], [412, 411, 564, 465]],
  'scenetext05.jpg': [[82, 164, 236, 230], [462, 306, 704, 398]],
  'scenetext06.jpg': [[292, 155, 334, 177], [288, 174, 339, 195], [306, 195, 318, 202], [292, 200, 333, 217], [235, 278, 597, 332]],
  'scenetext_segmented_word01.jpg': [[126, 218, 517, 297]],
  'scenetext_segmented_word02.jpg': [[52, 221, 436, 300], [441, 227, 594, 292], [298, 446, 331, 459], [375, 447, 434, 463]],
  'scenetext_segmented_word03.jpg': [[145, 75, 489, 132], [126, 155, 504, 226], [360, 241, 520, 309], [112, 243, 362, 306], [344, 265, 380, 288], [171, 328, 445, 404]],
  'scenetext_segmented_word04.jpg': [[317, 152, 372, 218], [84, 287, 577, 368], [13, 416, 447, 453], [478, 424, 554, 445]],
  'scenetext_segmented_word05.jpg': [[176, 38, 494, 133], [178, 324, 482, 389], [180, 382, 478, 408]],
};
