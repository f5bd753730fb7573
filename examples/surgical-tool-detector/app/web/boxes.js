// The object detector in the page: Predictor.predict of src/<package>/inference.py in JS, and the
// boxes drawn as app/demo_support.py draws them.

import { BLANK_PICTURE, preprocess, readPixels } from "./pixels.js";
import { photoExample, setUpPhotos } from "./photo.js";

// evaluate's metric keys that read badly as they are (others are shown unchanged).
export const METRIC_NAMES = {
  map50: "mAP@0.5",
  map50_95: "mAP@0.5:0.95",
  all_found_rate: "images with all found",
  exact_scene_rate: "images read exactly",
  class_recall: "recall",
  recall_at_precision: "recall at fixed precision",
};
// One colour per class, as in the Python apps' pictures.
const BOX_COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"];

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

/** "3 scalpels": a count and a class name, in the plural when there are several. */
function counted(count, name) {
  if (count === 1) return `1 ${name}`;
  if (/(s|x|z|ch|sh)$/.test(name)) return `${count} ${name}${name.endsWith("s") ? "" : "es"}`;
  if (/[^aeiou]y$/.test(name)) return `${count} ${name.slice(0, -1)}ies`;
  return /[a-z]$/i.test(name) ? `${count} ${name}s` : `${count} ${name}`;
}

/** How many boxes of each class, most first: "3 scalpels, 1 clamp". */
function classCounts(boxes) {
  const counts = new Map();
  for (const box of boxes) counts.set(box.label, (counts.get(box.label) || 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, count]) => counted(count, name)).join(", ");
}

/**
 * The sentence a visitor reads first (boxes counted by class, so fifty weak boxes stay one
 * line), one numbered row per box (two scalpels stay two rows), and the boxes on the picture.
 */
export function describe(result, threshold, classes) {
  const { boxes } = result;
  const summary = boxes.length
    ? `Found ${boxes.length} ${boxes.length === 1 ? "object" : "objects"}: ${classCounts(boxes)}.`
    : `Nothing found with confidence of at least ${threshold.toFixed(2)}. ` +
      "Lower the threshold to see weaker guesses.";
  const rows = boxes.map((box, i) => [`${i + 1}. ${box.label}: ${box.score.toFixed(2)}`, box.score]);
  return { summary, rows, drawOn: (context, picture) => drawBoxes(context, picture, boxes, classes) };
}

/** Each box with its label and score, as demo_support.draw_boxes draws them. */
function drawBoxes(context, picture, boxes, classes) {
  const line = Math.max(2, Math.round(Math.min(picture.width, picture.height) / 150));
  const fontSize = Math.max(12, Math.round(Math.min(picture.width, picture.height) / 25));
  context.font = `${fontSize}px sans-serif`;
  context.lineWidth = line;
  context.textBaseline = "top";
  for (const box of boxes) {
    const [x0, y0, x1, y1] = box.box;
    const colour = BOX_COLOURS[classes.indexOf(box.label) % BOX_COLOURS.length];
    context.strokeStyle = colour;
    context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const caption = `${box.label} ${box.score.toFixed(2)}`;
    const height = fontSize + 2 * line;
    // Put the caption above the box, or inside it when the box touches the top edge.
    const top = y0 - height >= 0 ? y0 - height : y0;
    context.fillStyle = colour;
    context.fillRect(x0, top, context.measureText(caption).width + 2 * line, height);
    context.fillStyle = "white";
    context.fillText(caption, x0 + line, top + line);
  }
}

/** `predict --json`'s answer for a photo (a Blob, or a URL of this site). */
export async function answer(model, input, threshold = 0.5) {
  return predictPicture(model, await readPixels(input), threshold);
}

/** One prediction right after loading, so the visitor's first one does not pay for the set-up. */
export const warmUp = (model) => predictPicture(model, BLANK_PICTURE);
export const setUp = (present) => setUpPhotos(present, predictPicture, describe);
export const exampleButton = photoExample;
