// The exported model in the browser: the same steps as src/surgical_tool_detector/inference.py, in JS.
//
// predict() must give what `Predictor.predict` gives in Python, number for number, so every step
// below copies its Python twin exactly, down to Pillow's fixed-point bilinear resize.
// A change to either file needs the same change in the other.

const ort = globalThis.ort; // set by ort/ort.wasm.min.js, loaded before this module

// Load the runtime's worker and .wasm from this site's ort/ folder, never from a CDN. One thread:
// threads need cross-origin isolation headers, and on a small CPU they are not faster.
ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
ort.env.wasm.numThreads = 1;

/** The model and labels.json, loaded once: {config, session}. */
export async function loadModel() {
  const [config, session] = await Promise.all([
    fetch("models/labels.json").then((response) => response.json()),
    ort.InferenceSession.create("models/model.onnx", { executionProviders: ["wasm"] }),
  ]);
  return { config, session };
}

/** A picture's RGBA pixels, decoded without colour conversion, upright per its EXIF tag. */
export async function readPixels(input) {
  const blob = typeof input === "string" ? await (await fetch(input)).blob() : input;
  const bitmap = await createImageBitmap(blob, {
    imageOrientation: "from-image",
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  const { data, width, height } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  flattenOntoWhite(data);
  return { bitmap, data, width, height };
}

/** images.flatten: transparent pixels painted onto white with Pillow's rounding, as collect did. */
function flattenOntoWhite(data) {
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3];
    if (alpha === 255) continue;
    for (let c = 0; c < 3; c++) {
      const blended = 255 * (255 - alpha) + data[i + c] * alpha + 128;
      data[i + c] = (blended + (blended >> 8)) >> 8;
    }
    data[i + 3] = 255;
  }
}

// Pillow keeps resampling weights as integers with this many fraction bits (Resample.c).
const PRECISION_BITS = 22;

/** Pillow's bilinear weights for one axis: for each output pixel, its first input and weights. */
function resampleWeights(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // shrinking widens the filter, which averages pixels
  const support = filterScale; // the triangle filter reaches 1 pixel, times the scale
  const reciprocal = 1 / filterScale;
  const rows = [];
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const first = Math.max(0, Math.trunc(centre - support + 0.5));
    const last = Math.min(inSize, Math.trunc(centre + support + 0.5));
    const raw = [];
    for (let x = first; x < last; x++) {
      raw.push(Math.max(0, 1 - Math.abs((x - centre + 0.5) * reciprocal)));
    }
    const total = raw.reduce((sum, weight) => sum + weight, 0);
    const weights = raw.map((weight) => {
      const share = total !== 0 ? weight / total : weight;
      return Math.trunc(share * 2 ** PRECISION_BITS + (share < 0 ? -0.5 : 0.5));
    });
    rows.push({ first, weights });
  }
  return rows;
}

/** Pillow's rounding of a fixed-point sum back to a byte. */
function clip8(sum) {
  if (sum >= 2 ** (PRECISION_BITS + 8)) return 255;
  if (sum <= 0) return 0;
  return sum >> PRECISION_BITS;
}

/** RGB bytes resized like Pillow's Image.resize(BILINEAR): width first, then height. */
function resizeBilinear(rgb, width, height, size) {
  let pixels = rgb;
  let columns = width;
  if (width !== size) {
    const table = resampleWeights(width, size);
    const next = new Uint8Array(size * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < size; x++) {
        const { first, weights } = table[x];
        for (let c = 0; c < 3; c++) {
          let sum = 2 ** (PRECISION_BITS - 1);
          for (let k = 0; k < weights.length; k++) {
            sum += pixels[(y * width + first + k) * 3 + c] * weights[k];
          }
          next[(y * size + x) * 3 + c] = clip8(sum);
        }
      }
    }
    pixels = next;
    columns = size;
  }
  if (height !== size) {
    const table = resampleWeights(height, size);
    const next = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      const { first, weights } = table[y];
      for (let x = 0; x < columns; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 2 ** (PRECISION_BITS - 1);
          for (let k = 0; k < weights.length; k++) {
            sum += pixels[((first + k) * columns + x) * 3 + c] * weights[k];
          }
          next[(y * columns + x) * 3 + c] = clip8(sum);
        }
      }
    }
    pixels = next;
  }
  return pixels;
}

/** inference.preprocess: RGB, resized to size x size, normalised, channels first (float32). */
export function preprocess(picture, size, mean, std) {
  const rgb = new Uint8Array(picture.width * picture.height * 3);
  for (let i = 0, j = 0; i < picture.data.length; i += 4, j += 3) {
    rgb[j] = picture.data[i];
    rgb[j + 1] = picture.data[i + 1];
    rgb[j + 2] = picture.data[i + 2];
  }
  const resized = resizeBilinear(rgb, picture.width, picture.height, size);
  const tensor = new Float32Array(3 * size * size);
  const f = Math.fround; // numpy does this arithmetic in float32; so do we, step by step
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < size * size; i++) {
      const scaled = f(resized[i * 3 + c] / 255);
      tensor[c * size * size + i] = f(f(scaled - f(mean[c])) / f(std[c]));
    }
  }
  return new ort.Tensor("float32", tensor, [1, 3, size, size]);
}

/** inference.overlap: intersection over union of two boxes [x0, y0, x1, y1]. */
function overlap(a, b) {
  const width = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const height = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = width * height;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * inference.decode: (class id, score, [x0, y0, x1, y1]) boxes in the network's input pixels.
 * A cell counts only where it is the highest of its 3x3 neighbourhood in its class map; then the
 * best cells above the threshold become boxes, and a box overlapping a better one of its class
 * by more than nmsIou is dropped.
 */
function decode(heatmap, box, grid, classes, stride, threshold, maxDetections, nmsIou) {
  const cells = grid * grid;
  const peaks = [];
  for (let c = 0; c < classes; c++) {
    for (let row = 0; row < grid; row++) {
      for (let col = 0; col < grid; col++) {
        const score = heatmap[c * cells + row * grid + col];
        let highest = true;
        for (let dy = -1; dy <= 1 && highest; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const r = row + dy;
            const k = col + dx;
            if (r >= 0 && r < grid && k >= 0 && k < grid && heatmap[c * cells + r * grid + k] > score) {
              highest = false;
              break;
            }
          }
        }
        peaks.push({ c, row, col, score: highest ? score : 0 });
      }
    }
  }
  peaks.sort((a, b) => b.score - a.score); // stable: ties keep (class, row, column) order
  const kept = [];
  for (const { c, row, col, score } of peaks.slice(0, maxDetections)) {
    if (score < threshold) break;
    const at = row * grid + col;
    const cx = (col + box[at]) * stride;
    const cy = (row + box[cells + at]) * stride;
    const w = Math.fround(Math.fround(Math.exp(box[2 * cells + at])) * stride);
    const h = Math.fround(Math.fround(Math.exp(box[3 * cells + at])) * stride);
    const corners = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    if (kept.every((other) => other.c !== c || overlap(corners, other.corners) <= nmsIou)) {
      kept.push({ c, score, corners });
    }
  }
  return kept;
}

/** Predictor.predict: {boxes: [{label, score, box}]} in pixels of the picture, best first. */
export async function predictPicture(model, picture, threshold = 0.5) {
  const { config, session } = model;
  const size = config.input_size;
  const image = preprocess(picture, size, config.mean, config.std);
  const outputs = await session.run({ [session.inputNames[0]]: image });
  const heatmap = outputs[session.outputNames[0]];
  const settings = config.decode;
  const found = decode(
    heatmap.data, outputs[session.outputNames[1]].data, heatmap.dims[2], heatmap.dims[1],
    settings.stride, threshold, settings.max_detections, settings.nms_iou,
  );
  // The network saw a size x size copy; scale the boxes back to the picture's own pixels.
  const limits = [picture.width, picture.height, picture.width, picture.height];
  const boxes = found.map(({ c, score, corners }) => ({
    label: config.classes[c],
    score,
    box: corners.map((value, i) => {
      const scaled = Math.min(Math.max(value * (limits[i] / size), 0), limits[i]);
      return Math.round(scaled * 10) / 10;
    }),
  }));
  return { boxes };
}

/** Predictor.predict for an image URL or a Blob (an upload, a paste, a webcam frame). */
export async function predict(model, input, threshold = 0.5) {
  return predictPicture(model, await readPixels(input), threshold);
}
