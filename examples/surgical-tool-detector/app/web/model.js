// Loads the onnxruntime-web runtime and the exported model into this page, as fast as the network
// allows. The runtime travels gzipped (3.7 MB instead of 14 MB, whatever the host does) and is
// unpacked as it arrives; both files download at once, and the runtime starts (compiling takes a
// second or more on a slow device) as soon as it is in, while the model may still be on its way.
// Both are kept in the browser's Cache API under their content hash, so a return visit downloads
// nothing and a rebuilt site is never served from a stale copy.
//
// downloads.json, written by `python -m <package> web --build`, lists the two files: their path,
// size on the wire (for an honest progress bar) and SHA-256 (to check them, and to key the cache).

import * as ort from "./ort/ort.wasm.bundle.min.mjs";

export { ort };

const CACHE_NAME = "pocgen-web-demo";

/**
 * A JSON file of this site, or an error naming it. Always asked of the server ("no-cache" lets it
 * answer "not modified"): after a rebuild, an old downloads.json would bring back the old model.
 */
export async function readJson(path) {
  const response = await fetch(path, { cache: "no-cache" });
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

/** A promise awaited later: until then, its failure must not count as unhandled. */
function later(promise) {
  promise.catch(() => {});
  return promise;
}

/**
 * A response's body as it arrives: {body, content, unpackedByHost}. content is the body unpacked
 * if it is gzipped (fed to the browser's own decoder chunk by chunk, so unpacking ends with the
 * download). A host that unpacks .gz files itself (Content-Encoding: gzip) sends the unpacked
 * file, of entry.unpacked_bytes. onBytes(received, total) follows the download.
 */
async function readBody(response, entry, onBytes) {
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  let unpackedByHost = false;
  let unpacker = null;
  let unpacked = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!chunks.length && entry.unpacked_bytes) {
      unpackedByHost = !isGzip(value);
      if (!unpackedByHost) {
        const stream = new DecompressionStream("gzip");
        unpacker = stream.writable.getWriter();
        unpacked = new Response(stream.readable).arrayBuffer();
      }
    }
    chunks.push(value);
    unpacker?.write(value).catch(() => {}); // a broken stream fails `unpacked`, awaited below
    received += value.length;
    onBytes(received, unpackedByHost ? entry.unpacked_bytes : entry.bytes);
  }
  unpacker?.close().catch(() => {});
  const body = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { body, content: unpacked ? new Uint8Array(await unpacked) : body, unpackedByHost };
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
  const { body, content, unpackedByHost } = await readBody(response, entry, onProgress);
  const expected = unpackedByHost ? entry.unpacked_sha256 : entry.sha256;
  if (crypto.subtle && (await sha256(body)) !== expected) {
    await cache?.delete(url);
    throw new Error(`${entry.path} arrived damaged (its checksum does not match)`);
  }
  if (cache && !cached) keep(cache, url, body).catch(() => {}); // a full disk only costs a visit
  return content;
}

/**
 * The model, ready to run: {config, session}. onProgress(file, received, total) follows the two
 * downloads, file being "runtime" or "model"; onDownloaded() is called when both are in.
 */
export async function loadModel(onProgress, onDownloaded) {
  const files = await readJson("downloads.json");
  // Both downloads at once: the connection is the bottleneck, and one stream alone fills it less.
  const config = later(readJson("models/labels.json"));
  const runtime = download(files.runtime, (done, total) => onProgress("runtime", done, total));
  const model = later(download(files.model, (done, total) => onProgress("model", done, total)));
  Promise.all([runtime, model]).then(onDownloaded, () => {}); // a failure is reported below
  // The runtime's bytes are handed over, so it fetches nothing more. One thread: threads need
  // cross-origin isolation headers, and on a small CPU they are not faster.
  ort.env.wasm.wasmBinary = await runtime;
  ort.env.wasm.numThreads = 1;
  // Start the runtime while the model may still be downloading: a session asked for an empty
  // model compiles and starts the runtime, then fails (as it should); the real one reuses it.
  await ort.InferenceSession.create(new Uint8Array()).catch(() => {});
  const session = await ort.InferenceSession.create(await model, { executionProviders: ["wasm"] });
  return { config: await config, session };
}
