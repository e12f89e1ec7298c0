import * as tf from '@tensorflow/tfjs';

/**
 * Convolutions whose gradients are built from forward kernels only.
 *
 * The wasm backend implements Conv2D, Conv2DBackpropInput and
 * DepthwiseConv2dNative, but not Conv2DBackpropFilter nor the depthwise
 * backprop kernels, so tf.grad through tf.conv2d fails there. These wrappers
 * give the same values as TF's own gradients (checked in conv-grad.spec.ts
 * against the cpu backend) while running on XNNPACK-backed kernels.
 *
 * Padding is TF 'same' (extra row/column at the bottom/right when the total
 * is odd); export.ts writes the same explicit pads to ONNX.
 */

/** TF 'same' padding for one spatial axis: [before, after] and output size. */
export function samePadding(inSize: number, k: number, stride: number): { before: number; after: number; out: number } {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, out };
}

/**
 * dW of a 'same' conv: a correlation of the input with dy in which the batch
 * plays the role of channels. x^T [Cin,H,W,N] convolved with dy^T [Ho,Wo,N,Cout]
 * (dilated by the stride) gives [Cin,kh,kw,Cout].
 */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, cin] = x.shape;
    const cout = dy.shape[3];
    if (kh === 1 && kw === 1) {
      // A 1x1 conv is a matmul over all pixels. The backend's matMul with a
      // transposed operand is a slow loop, so transpose explicitly and run the
      // product as a conv (XNNPACK).
      const xs = stride === 1 ? x : everyNth(x, 0, 0, Math.ceil(h / stride), Math.ceil(w / stride), stride);
      const n = xs.shape[0] * xs.shape[1] * xs.shape[2];
      const xt = tf.transpose(xs.reshape([n, cin])).reshape([1, 1, cin, n]) as tf.Tensor4D;
      return tf.conv2d(xt, dy.reshape([1, 1, n, cout]) as tf.Tensor4D, 1, 'valid');
    }
    const ph = samePadding(h, kh, stride);
    const pw = samePadding(w, kw, stride);
    const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    // With dilation = stride the dilated dy spans (Ho-1)*s+1 pixels; the
    // padded input can be one pixel longer than needed, so crop to k.
    const padded = tf.pad(xt, [[0, 0], [ph.before, ph.after], [pw.before, pw.after], [0, 0]]);
    const full = tf.conv2d(padded, dyt, 1, 'valid', 'NHWC', stride) as tf.Tensor4D;
    const cropped = full.shape[1] === kh && full.shape[2] === kw ? full : full.slice([0, 0, 0, 0], [cin, kh, kw, cout]);
    return tf.transpose(cropped, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * dX of a 'same' conv as a forward conv: dy, dilated by the stride and padded,
 * correlated with the kernel flipped in space and with in/out channels swapped.
 * The backend's own Conv2DBackpropInput is a plain loop about 10x slower than
 * its XNNPACK forward conv, which dominated the training step.
 */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: [number, number, number, number], stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = w.shape;
    const [, h, wd] = xShape;
    if (kh === 1 && kw === 1 && stride === 1) {
      return tf.conv2d(dy, tf.transpose(w, [0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid');
    }
    const ph = samePadding(h, kh, stride);
    const pw = samePadding(wd, kw, stride);
    const d = dilateSpatial(dy, stride);
    const top = kh - 1 - ph.before;
    const left = kw - 1 - pw.before;
    const padded = padOrCrop(d, top, h + kh - 1 - top - d.shape[1], left, wd + kw - 1 - left - d.shape[2]);
    const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
}

/** tf.conv2d (NHWC, HWIO, 'same') with gradients that run on the wasm backend. */
export function conv2dSame(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, stride, 'same'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor4D[];
        const dy4 = dy as tf.Tensor4D;
        const dx = conv2dInputGrad(dy4, sw, sx.shape, stride);
        const dw = conv2dFilterGrad(sx, dy4, sw.shape[0], sw.shape[1], stride);
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/** Inserts stride-1 zeros between pixels: [N,H,W,C] -> [N,(H-1)s+1,(W-1)s+1,C]. */
function dilateSpatial(t: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (stride === 1) return t;
  const [n, h, w, c] = t.shape;
  // Two rank-4 pads (columns, then rows) instead of one rank-6 pad, which
  // the backend runs on a slow generic path.
  const cols = tf.pad(t.reshape([n * h, w, 1, c]), [[0, 0], [0, 0], [0, stride - 1], [0, 0]]);
  const rows = tf.pad(cols.reshape([n, h, 1, w * stride * c]), [[0, 0], [0, 0], [0, stride - 1], [0, 0]]);
  const full = rows.reshape([n, h * stride, w * stride, c]) as tf.Tensor4D;
  return full.slice([0, 0, 0, 0], [n, (h - 1) * stride + 1, (w - 1) * stride + 1, c]);
}

/**
 * tf.depthwiseConv2d (NHWC, filter [kh,kw,C,1], 'same') with gradients made of
 * depthwise convs (dx: dy dilated by the stride, correlated with the flipped
 * kernel; dW: see below).
 */
export function depthwiseSame(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.depthwiseConv2d(x4, w4, stride, 'same'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor4D[];
        const dy4 = dy as tf.Tensor4D;
        const [, h, wd, c] = sx.shape;
        const [kh, kw] = sw.shape;
        const ph = samePadding(h, kh, stride);
        const pw = samePadding(wd, kw, stride);
        const dx = tf.tidy(() => {
          // Transposed conv: x pixel i receives dy[o] * w[i - o*s + before].
          const d = dilateSpatial(dy4, stride);
          const lenH = d.shape[1];
          const lenW = d.shape[2];
          const top = kh - 1 - ph.before;
          const left = kw - 1 - pw.before;
          const bottom = h + kh - 1 - top - lenH;
          const right = wd + kw - 1 - left - lenW;
          const padded = padOrCrop(d, top, bottom, left, right);
          const flipped = tf.reverse(sw, [0, 1]) as tf.Tensor4D;
          return tf.depthwiseConv2d(padded, flipped, 1, 'valid');
        });
        const dw = tf.tidy(() => {
          // Per-channel correlation of x with dy, summed over the batch: one
          // depthwise conv with (batch x channel) as channels and dy as a
          // large kernel (dilated by the stride), then a sum over the batch.
          // About 5x faster here than nine slice-multiply-reduce taps.
          const [n, ho, wo] = dy4.shape;
          const xp = tf.pad(sx, [[0, 0], [ph.before, ph.after], [pw.before, pw.after], [0, 0]]);
          const hp = h + ph.before + ph.after;
          const wp = wd + pw.before + pw.after;
          const xt = tf.transpose(xp, [1, 2, 0, 3]).reshape([1, hp, wp, n * c]) as tf.Tensor4D;
          const dyt = tf.transpose(dy4, [1, 2, 0, 3]).reshape([ho, wo, n * c, 1]) as tf.Tensor4D;
          const full = tf.depthwiseConv2d(xt, dyt, 1, 'valid', 'NHWC', stride);
          const taps = full.shape[1] === kh && full.shape[2] === kw ? full : full.slice([0, 0, 0, 0], [1, kh, kw, n * c]);
          return tf.sum(taps.reshape([kh * kw, n, c]), 1).reshape([kh, kw, c, 1]);
        });
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/** Pads (positive) or crops (negative) the spatial borders. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const p = tf.pad(t, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return p;
  const [n, h, w, c] = p.shape;
  const t0 = Math.max(-top, 0);
  const l0 = Math.max(-left, 0);
  return p.slice([0, t0, l0, 0], [n, h - t0 - Math.max(-bottom, 0), w - l0 - Math.max(-right, 0), c]);
}

/**
 * t[:, top + s*i, left + s*j, :] for i < ho, j < wo. The backend's strided
 * StridedSlice is a slow generic loop; a contiguous slice, a reshape that
 * splits each axis into (ho, s) and a slice of phase 0 do the same.
 */
export function everyNth(t: tf.Tensor4D, top: number, left: number, ho: number, wo: number, s: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = t.shape;
    const needH = top + ho * s;
    const needW = left + wo * s;
    const src = needH > h || needW > w ? tf.pad(t, [[0, 0], [0, Math.max(needH - h, 0)], [0, Math.max(needW - w, 0)], [0, 0]]) : t;
    const window = tf.slice(src, [0, top, left, 0], [n, ho * s, wo * s, c]);
    // Rank-6 slices take a slow path in the backend: fold (ho, s) and (wo, s, c)
    // into 4 axes so phase 0 of both is one rank-4 slice.
    const split = window.reshape([n * ho, s, wo, s * c]);
    return tf.slice(split, [0, 0, 0, 0], [n * ho, 1, wo, c]).reshape([n, ho, wo, c]) as tf.Tensor4D;
  });
}
