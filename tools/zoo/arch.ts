/**
 * The three zoo architectures as data: a list of layers in execution order,
 * each naming its inputs. One description feeds three interpreters: the
 * training forward pass (forward.ts), the standard TF.js layers model
 * (tfjs-model.ts) and the ONNX graph (export.ts), so they cannot drift apart.
 *
 * Convolutions use TF 'same' padding and no bias (a BatchNormalization always
 * follows); layer names double as weight-name prefixes ('<layer>/kernel').
 */

export type Layer =
  | { kind: 'conv'; name: string; input: string; filters: number; kernel: number; stride: number }
  | { kind: 'dwconv'; name: string; input: string; kernel: number; stride: number }
  | { kind: 'bn'; name: string; input: string }
  | { kind: 'relu'; name: string; input: string }
  | { kind: 'relu6'; name: string; input: string }
  | { kind: 'add'; name: string; inputs: [string, string] }
  | { kind: 'maxpool'; name: string; input: string; size: number }
  | { kind: 'gap'; name: string; input: string }
  | { kind: 'dense'; name: string; input: string; units: number };

export interface Arch {
  name: ArchName;
  description: string;
  /** NHWC input shape without the batch. */
  inputShape: [number, number, number];
  classes: number;
  layers: Layer[];
  /** The last layer's name: the logits. */
  output: string;
}

export const ARCH_NAMES = ['resnet20', 'vgg', 'mobilenetv2'] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

/** The graph input's name in every interpreter. */
export const INPUT = 'input';

class Builder {
  readonly layers: Layer[] = [];
  conv(name: string, input: string, filters: number, kernel: number, stride: number): string {
    this.layers.push({ kind: 'conv', name, input, filters, kernel, stride });
    return name;
  }
  dw(name: string, input: string, kernel: number, stride: number): string {
    this.layers.push({ kind: 'dwconv', name, input, kernel, stride });
    return name;
  }
  bn(name: string, input: string): string {
    this.layers.push({ kind: 'bn', name, input });
    return name;
  }
  act(kind: 'relu' | 'relu6', name: string, input: string): string {
    this.layers.push({ kind, name, input });
    return name;
  }
  add(name: string, a: string, b: string): string {
    this.layers.push({ kind: 'add', name, inputs: [a, b] });
    return name;
  }
  maxpool(name: string, input: string, size: number): string {
    this.layers.push({ kind: 'maxpool', name, input, size });
    return name;
  }
  gap(name: string, input: string): string {
    this.layers.push({ kind: 'gap', name, input });
    return name;
  }
  dense(name: string, input: string, units: number): string {
    this.layers.push({ kind: 'dense', name, input, units });
    return name;
  }
  /** conv -> BN -> optional activation. */
  cba(name: string, input: string, filters: number, kernel: number, stride: number, act: 'relu' | 'relu6' | null): string {
    const c = this.conv(`${name}_conv`, input, filters, kernel, stride);
    const b = this.bn(`${name}_bn`, c);
    return act ? this.act(act, `${name}_${act}`, b) : b;
  }
}

/**
 * ResNet-20 of He et al. (CIFAR variant): 3 stages of 3 basic blocks, widths
 * 16/32/64. Downsampling shortcuts are 1x1 stride-2 conv + BN (option B),
 * which every format represents directly.
 */
export function resnet20(classes = 10): Arch {
  const b = new Builder();
  let x = b.cba('stem', INPUT, 16, 3, 1, 'relu');
  let width = 16;
  const widths = [16, 32, 64];
  for (let s = 0; s < 3; s++) {
    for (let k = 0; k < 3; k++) {
      const name = `s${s + 1}b${k + 1}`;
      const stride = s > 0 && k === 0 ? 2 : 1;
      const out = widths[s];
      const h = b.cba(`${name}_a`, x, out, 3, stride, 'relu');
      const y = b.cba(`${name}_b`, h, out, 3, 1, null);
      const shortcut = stride !== 1 || out !== width ? b.cba(`${name}_proj`, x, out, 1, stride, null) : x;
      x = b.act('relu', `${name}_out`, b.add(`${name}_add`, y, shortcut));
      width = out;
    }
  }
  const logits = b.dense('fc', b.gap('gap', x), classes);
  return { name: 'resnet20', description: 'ResNet-20 (3x3 basic blocks, widths 16/32/64, BN, 1x1 projection shortcuts)', inputShape: [28, 28, 1], classes, layers: b.layers, output: logits };
}

/** VGG-style: pairs of 3x3 conv+BN+ReLU with 2x2 max pooling, then GAP and a linear classifier. */
export function vgg(classes = 10): Arch {
  const b = new Builder();
  let x = INPUT;
  const stages = [32, 64, 128];
  stages.forEach((w, s) => {
    x = b.cba(`c${s + 1}a`, x, w, 3, 1, 'relu');
    x = b.cba(`c${s + 1}b`, x, w, 3, 1, 'relu');
    if (s < stages.length - 1) x = b.maxpool(`pool${s + 1}`, x, 2);
  });
  const logits = b.dense('fc', b.gap('gap', x), classes);
  return { name: 'vgg', description: 'VGG-style (3x3 conv pairs 32/64/128 with BN and ReLU, 2x2 max pooling, GAP, linear)', inputShape: [28, 28, 1], classes, layers: b.layers, output: logits };
}

/**
 * MobileNetV2-style for 28x28: inverted residual blocks (1x1 expand, 3x3
 * depthwise, 1x1 linear projection), ReLU6, residual adds where shapes allow.
 * Rows are (expansion t, channels c, repeats n, first stride s).
 */
export function mobilenetv2(classes = 10): Arch {
  const b = new Builder();
  let x = b.cba('stem', INPUT, 16, 3, 1, 'relu6');
  let cin = 16;
  const rows: [number, number, number, number][] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 2, 1],
  ];
  let blockIndex = 0;
  for (const [t, c, n, s] of rows) {
    for (let i = 0; i < n; i++) {
      blockIndex++;
      const name = `ir${blockIndex}`;
      const stride = i === 0 ? s : 1;
      let h = x;
      if (t !== 1) h = b.cba(`${name}_expand`, h, cin * t, 1, 1, 'relu6');
      h = b.dw(`${name}_dw_conv`, h, 3, stride);
      h = b.act('relu6', `${name}_dw_relu6`, b.bn(`${name}_dw_bn`, h));
      h = b.cba(`${name}_project`, h, c, 1, 1, null);
      x = stride === 1 && cin === c ? b.add(`${name}_add`, h, x) : h;
      cin = c;
    }
  }
  x = b.cba('head', x, 256, 1, 1, 'relu6');
  const logits = b.dense('fc', b.gap('gap', x), classes);
  return { name: 'mobilenetv2', description: 'MobileNetV2-style (inverted residuals t=6, depthwise 3x3, ReLU6, linear bottlenecks; widths 16/24/32/64, head 256)', inputShape: [28, 28, 1], classes, layers: b.layers, output: logits };
}

export function buildArch(name: string): Arch {
  switch (name) {
    case 'resnet20':
      return resnet20();
    case 'vgg':
      return vgg();
    case 'mobilenetv2':
      return mobilenetv2();
    default:
      throw new Error(`unknown architecture '${name}'; expected one of ${ARCH_NAMES.join(', ')}`);
  }
}

export type Shape3 = [number, number, number];

/** NHWC shapes (without batch) of every layer output, and each layer's parameter shapes. */
export function inferShapes(arch: Arch): { shapes: Map<string, number[]>; params: Map<string, number[]> } {
  const shapes = new Map<string, number[]>([[INPUT, [...arch.inputShape]]]);
  const params = new Map<string, number[]>();
  const get = (n: string): number[] => {
    const s = shapes.get(n);
    if (!s) throw new Error(`${arch.name}: layer input '${n}' is not defined before use`);
    return s;
  };
  const same = (size: number, stride: number): number => Math.ceil(size / stride);
  for (const l of arch.layers) {
    if (shapes.has(l.name)) throw new Error(`${arch.name}: duplicate layer name '${l.name}'`);
    switch (l.kind) {
      case 'conv': {
        const [h, w, c] = get(l.input);
        params.set(`${l.name}/kernel`, [l.kernel, l.kernel, c, l.filters]);
        shapes.set(l.name, [same(h, l.stride), same(w, l.stride), l.filters]);
        break;
      }
      case 'dwconv': {
        const [h, w, c] = get(l.input);
        params.set(`${l.name}/depthwise_kernel`, [l.kernel, l.kernel, c, 1]);
        shapes.set(l.name, [same(h, l.stride), same(w, l.stride), c]);
        break;
      }
      case 'bn': {
        const s = get(l.input);
        const c = s[s.length - 1];
        for (const p of ['gamma', 'beta', 'moving_mean', 'moving_variance']) params.set(`${l.name}/${p}`, [c]);
        shapes.set(l.name, s);
        break;
      }
      case 'relu':
      case 'relu6':
        shapes.set(l.name, get(l.input));
        break;
      case 'add': {
        const a = get(l.inputs[0]);
        const c = get(l.inputs[1]);
        if (a.join() !== c.join()) throw new Error(`${arch.name}: add '${l.name}' joins ${a} and ${c}`);
        shapes.set(l.name, a);
        break;
      }
      case 'maxpool': {
        const [h, w, c] = get(l.input);
        shapes.set(l.name, [Math.floor(h / l.size), Math.floor(w / l.size), c]);
        break;
      }
      case 'gap': {
        const s = get(l.input);
        shapes.set(l.name, [s[2]]);
        break;
      }
      case 'dense': {
        const s = get(l.input);
        if (s.length !== 1) throw new Error(`${arch.name}: dense '${l.name}' needs a flat input, got ${s}`);
        params.set(`${l.name}/kernel`, [s[0], l.units]);
        params.set(`${l.name}/bias`, [l.units]);
        shapes.set(l.name, [l.units]);
        break;
      }
    }
  }
  return { shapes, params };
}

/** Parameters that SGD updates; the BN moving statistics are updated by the forward pass. */
export function isTrainable(paramName: string): boolean {
  return !paramName.endsWith('/moving_mean') && !paramName.endsWith('/moving_variance');
}
