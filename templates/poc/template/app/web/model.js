// Loads the onnxruntime-web runtime and the exported model into this page, as fast as the network
// allows: both downloads start at once, the runtime travels gzipped (3.7 MB instead of 14 MB,
// whatever the host does) and is unpacked here, and both are kept in the browser's Cache API under
// their content hash, so a return visit downloads nothing and a rebuilt site is never stale.
//
// downloads.json, written by `python -m <package> web --build`, lists the two files: their path,
// size on the wire (for an honest progress bar) and the SHA-256 of their content.

import * as ort from "./ort/ort.wasm.bundle.min.mjs";

export { ort };

const CACHE_NAME = "pocgen-web-demo";

/** A JSON file of this site, or an error naming it. */
export async function readJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** The Cache API where the browser offers it (https or localhost pages), else null. */
async function openCache() {
  try {
    return globalThis.caches ? await caches.open(CACHE_NAME) : null;
  } catch {
    return null; // storage turned off, as in some private windows: download every visit
  }
}

const isGzip = (bytes) => bytes[0] === 0x1f && bytes[1] === 0x8b;

/** A response's body as bytes, calling onBytes(received so far, first chunk) as it arrives. */
async function readBody(response, onBytes) {
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(received, chunks[0]);
  }
  const body = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/** Gzipped bytes unpacked by the browser's own decompressor. */
async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Keep a download for the next visit, and drop the copies older builds left under that path. */
async function keep(cache, url, body) {
  const kept = new URL(url, location.href);
  await cache.put(kept, new Response(body));
  for (const request of await cache.keys()) {
    const old = new URL(request.url);
    if (old.pathname === kept.pathname && old.href !== kept.href) await cache.delete(request);
  }
}

/**
 * One file of downloads.json as bytes, unpacked and checked, from the cache or the network;
 * onProgress(received, total) follows the download.
 */
async function download(entry, onProgress) {
  const url = `${entry.path}?sha256=${entry.sha256}`; // the content hash keys the cache
  const cache = await openCache();
  const cached = cache && (await cache.match(url));
  const response = cached || (await fetch(url));
  if (!response.ok) throw new Error(`${entry.path}: HTTP ${response.status}`);
  const body = await readBody(response, (received, first) => {
    // A host that unpacks .gz files itself (Content-Encoding: gzip) sends the unpacked file.
    const unpackedByHost = entry.unpacked_bytes && !isGzip(first);
    onProgress(received, unpackedByHost ? entry.unpacked_bytes : entry.bytes);
  });
  const content = entry.unpacked_bytes && isGzip(body) ? await gunzip(body) : body;
  if (crypto.subtle && (await sha256(content)) !== entry.sha256) {
    await cache?.delete(url);
    throw new Error(`${entry.path} arrived damaged (its checksum does not match)`);
  }
  if (cache && !cached) await keep(cache, url, body);
  return content;
}

/**
 * The model, ready to run: {config, session}. onProgress(file, received, total) follows the two
 * downloads, file being "runtime" or "model".
 */
export async function loadModel(onProgress) {
  const files = await readJson("downloads.json");
  const [config, wasm, model] = await Promise.all([
    readJson("models/labels.json"),
    download(files.runtime, (received, total) => onProgress("runtime", received, total)),
    download(files.model, (received, total) => onProgress("model", received, total)),
  ]);
  // The runtime's bytes are handed over, so it fetches nothing more. One thread: threads need
  // cross-origin isolation headers, and on a small CPU they are not faster.
  ort.env.wasm.wasmBinary = wasm;
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  return { config, session };
}
