// A picture as the network sees it: the same steps as src/<package>/images.py (normalise) and
// inference.py (preprocess), in JS. A visitor's upload must reach the model exactly as Python would
// give it, number for number, so every step below copies its Python twin, down to Pillow's
// fixed-point bilinear resize. A change to either side needs the same change in the other.

import { ort } from "./model.js";

// The upload limits of the Python apps (app/demo_support.py): a bigger file or picture only takes
// longer and more memory, and the model resizes it anyway.
export const MAX_UPLOAD_BYTES = 20_000_000;
export const MAX_PIXELS = 40_000_000;
const FORMATS = "Upload a JPEG, PNG or WebP photo.";
const UNREADABLE = `That file is not a picture this demo can read. ${FORMATS}`;

/** A problem with the visitor's file; its message is the sentence shown to them. */
export class PictureProblem extends Error {}

const text = (bytes, start, length) => String.fromCharCode(...bytes.subarray(start, start + length));

/**
 * {format, width, height} from the file's first bytes, before any pixel is decoded, for the
 * formats both this page and Pillow read; null for anything else.
 */
export function readHeader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && text(bytes, 1, 3) === "PNG" && text(bytes, 12, 4) === "IHDR") {
    return { format: "png", width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 10 && text(bytes, 0, 3) === "GIF") {
    return { format: "gif", width: view.getUint16(6, true), height: view.getUint16(8, true) };
  }
  if (bytes.length >= 26 && text(bytes, 0, 2) === "BM") {
    const coreHeader = view.getUint32(14, true) === 12; // the old OS/2 header: 16-bit sizes
    return coreHeader
      ? { format: "bmp", width: view.getUint16(18, true), height: view.getUint16(20, true) }
      : { format: "bmp", width: view.getInt32(18, true), height: Math.abs(view.getInt32(22, true)) };
  }
  if (bytes.length >= 30 && text(bytes, 0, 4) === "RIFF" && text(bytes, 8, 4) === "WEBP") {
    return webpHeader(bytes, view);
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegHeader(bytes, view);
  return null;
}

/** WebP's size sits in its first chunk, in one of three layouts (lossy, lossless, extended). */
function webpHeader(bytes, view) {
  const chunk = text(bytes, 12, 4);
  if (chunk === "VP8 ") {
    return { format: "webp", width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (chunk === "VP8L") {
    const bits = view.getUint32(21, true); // 14 bits of width - 1, then 14 bits of height - 1
    return { format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    const uint24 = (at) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
    return { format: "webp", width: uint24(24) + 1, height: uint24(27) + 1 };
  }
  return null;
}

/** JPEG's size is in its start-of-frame segment, after any EXIF, ICC or other segments. */
function jpegHeader(bytes, view) {
  let at = 2;
  while (at + 9 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // a fill byte before the marker
      continue;
    }
    // SOF0 to SOF15 hold the size; C4 (Huffman tables), C8 and CC (arithmetic coding) do not.
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { format: "jpeg", width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    }
    if (marker === 0xda) return null; // image data before any size: not a JPEG we can read
    at += 2 + view.getUint16(at + 2);
  }
  return null;
}

/** The EXIF orientation (1 to 8) in a WebP file's EXIF chunk, and the file without that chunk. */
function splitWebpOrientation(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept = [bytes.subarray(0, 12)];
  let orientation = 1;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    const end = Math.min(bytes.length, at + 8 + size + (size % 2)); // chunks are padded to even
    if (text(bytes, at, 4) === "EXIF") {
      orientation = exifOrientation(bytes.subarray(at + 8, at + 8 + size)) || 1;
    } else {
      kept.push(bytes.subarray(at, end));
    }
    at = end;
  }
  const stripped = new Uint8Array(kept.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of kept) {
    stripped.set(part, offset);
    offset += part.length;
  }
  new DataView(stripped.buffer).setUint32(4, stripped.length - 8, true); // the RIFF size
  if (text(stripped, 12, 4) === "VP8X") stripped[20] &= ~0x08; // the "has EXIF" flag
  return { orientation, stripped };
}

/** The Orientation tag (0x0112) of EXIF data (a TIFF header and its first directory), or 0. */
function exifOrientation(exif) {
  const start = text(exif, 0, 4) === "Exif" ? 6 : 0; // some writers keep JPEG's "Exif\0\0"
  if (exif.length < start + 8) return 0;
  const view = new DataView(exif.buffer, exif.byteOffset + start, exif.byteLength - start);
  const little = view.getUint16(0) === 0x4949; // "II": Intel byte order
  const directory = view.getUint32(4, little);
  if (directory + 2 > view.byteLength) return 0;
  const entries = view.getUint16(directory, little);
  for (let i = 0; i < entries; i++) {
    const entry = directory + 2 + i * 12;
    if (entry + 12 > view.byteLength) break;
    if (view.getUint16(entry, little) === 0x0112) return view.getUint16(entry + 8, little);
  }
  return 0;
}

/**
 * How to draw a stored w x h picture so it stands upright, per its EXIF orientation (1 to 8):
 * whether width and height swap, and the canvas transform (a, b, c, d, e, f).
 */
function upright(orientation, w, h) {
  switch (orientation) {
    case 2: return [false, [-1, 0, 0, 1, w, 0]]; // mirrored
    case 3: return [false, [-1, 0, 0, -1, w, h]]; // upside down
    case 4: return [false, [1, 0, 0, -1, 0, h]]; // mirrored upside down
    case 5: return [true, [0, 1, 1, 0, 0, 0]]; // mirrored, on its side
    case 6: return [true, [0, 1, -1, 0, h, 0]]; // turned a quarter to the left: turn it right
    case 7: return [true, [0, -1, -1, 0, h, w]]; // mirrored, on its other side
    case 8: return [true, [0, -1, 1, 0, 0, w]]; // turned a quarter to the right: turn it left
    default: return [false, [1, 0, 0, 1, 0, 0]]; // 1, or a value no camera writes
  }
}

/**
 * images.normalise in the browser: a file's pixels as RGBA bytes, upright, in sRGB, transparent
 * parts painted onto white; {data, width, height}. Throws PictureProblem with the Python apps'
 * sentence for a file they would refuse, before decoding anything too large.
 */
export async function readPixels(input) {
  const blob = typeof input === "string" ? await (await fetch(input)).blob() : input;
  if (blob.size === 0) throw new PictureProblem(`The file is empty. ${FORMATS}`);
  if (blob.size > MAX_UPLOAD_BYTES) {
    const megabytes = Math.ceil(blob.size / 100_000) / 10; // never rounds down to the limit
    throw new PictureProblem(
      `The file is ${megabytes.toFixed(1)} MB; upload a photo under ${MAX_UPLOAD_BYTES / 1e6} MB.`,
    );
  }
  let bytes = new Uint8Array(await blob.arrayBuffer());
  const header = readHeader(bytes);
  if (!header) throw new PictureProblem(UNREADABLE);
  if (header.width * header.height > MAX_PIXELS) {
    throw new PictureProblem(
      `The picture is ${header.width}x${header.height} pixels; upload one under ` +
        `${MAX_PIXELS / 1e6} megapixels (a phone photo is about 12).`,
    );
  }
  // Browsers turn JPEG and PNG upright by their EXIF tag, but disagree on WebP (Chromium ignores
  // it); so for WebP the tag is taken out and applied here, the same way in every browser.
  let orientation = 1;
  if (header.format === "webp") ({ orientation, stripped: bytes } = splitWebpOrientation(bytes));
  let bitmap;
  try {
    // "default" colour conversion maps an embedded profile (Adobe RGB, Display P3) to sRGB, as
    // images.to_srgb does: without it the model would see different colours than in training.
    bitmap = await createImageBitmap(new Blob([bytes]), {
      imageOrientation: "from-image",
      colorSpaceConversion: "default",
      premultiplyAlpha: "none",
    });
  } catch {
    throw new PictureProblem("The picture is damaged or cut short. Try saving it again, or use another one.");
  }
  try {
    const [swaps, transform] = upright(orientation, bitmap.width, bitmap.height);
    const [width, height] = swaps ? [bitmap.height, bitmap.width] : [bitmap.width, bitmap.height];
    const context = new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = false; // quarter turns and mirrors move whole pixels
    context.setTransform(...transform);
    context.drawImage(bitmap, 0, 0);
    const { data } = context.getImageData(0, 0, width, height);
    flattenOntoWhite(data);
    return { data, width, height };
  } finally {
    bitmap.close(); // a decoded photo holds its whole size in memory until closed
  }
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

/** A 1 x 1 white picture, for the warm-up prediction that readies the runtime. */
export const BLANK_PICTURE = { data: new Uint8ClampedArray([255, 255, 255, 255]), width: 1, height: 1 };

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
