// The page: the same widgets and sentences as app/demo_support.py gives the Gradio app, with the
// model running here in the browser (model.js) instead of on a server.
import { loadModel, predict, predictPicture, readPixels } from "./model.js";

// evaluate's metric keys that read badly as they are (others are shown unchanged).
const METRIC_NAMES = {
  map50: "mAP@0.5", map50_95: "mAP@0.5:0.95", all_found_rate: "images with all found",
  class_recall: "recall", recall_at_precision: "recall at fixed precision",
};
// The upload limits of the Python apps: bigger files only take longer, the model resizes anyway.
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
const MAX_PIXELS = 40_000_000;
// One colour per class, as in the Python apps' pictures.
const BOX_COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"];

const element = (id) => document.getElementById(id);
const threshold = () => Number(element("threshold").value);
const modelReady = loadModel();

// The handle for scripts and tests: the same answer as `python -m surgical_tool_detector predict --json`.
window.pocgen = {
  ready: modelReady.then(() => true),
  async predict(input, chosenThreshold = 0.5) {
    const result = await predict(await modelReady, input, chosenThreshold);
    return result;
  },
};

function showStatus(message, isError = false) {
  element("status").textContent = message;
  element("status").classList.toggle("error", isError);
  if (isError) {
    // An old answer next to a new error would read as the answer to the bad input.
    element("summary").textContent = "";
    element("scores").replaceChildren();
    element("picture").hidden = true;
  }
}

/** (label, score) rows, highest first: class probabilities, or one row per detected box. */
function scoreRows(result) {
  if (result.boxes) return result.boxes.map((box) => [box.label, box.score]);
  return Object.entries(result.scores).sort((a, b) => b[1] - a[1]);
}

/** demo_support.summary: the one sentence a visitor reads first. */
function summary(result, chosenThreshold) {
  const t = chosenThreshold.toFixed(2);
  if (result.boxes) {
    if (!result.boxes.length) {
      return `Nothing found with confidence of at least ${t}. Lower the threshold to see weaker guesses.`;
    }
    const listed = result.boxes.map((box) => `${box.label} ${box.score.toFixed(2)}`).join(", ");
    const noun = result.boxes.length === 1 ? "object" : "objects";
    return `Found ${result.boxes.length} ${noun}: ${listed}.`;
  }
  const score = result.scores[result.label];
  let sentence = `Prediction: ${result.label} (${score.toFixed(2)}).`;
  if (score < chosenThreshold) {
    sentence += ` That is below the ${t} threshold: a person should check this one.`;
  }
  return sentence;
}

function showResult(result) {
  element("summary").textContent = summary(result, threshold());
  const numbered = Boolean(result.boxes); // two scalpels stay two rows
  element("scores").replaceChildren(
    ...scoreRows(result).map(([label, score], i) => {
      const row = document.createElement("li");
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${Math.round(score * 100)}%`;
      row.append(`${numbered ? `${i + 1}. ` : ""}${label}: ${score.toFixed(2)}`, bar);
      return row;
    }),
  );
  showStatus("");
}

let currentPicture = null; // the decoded picture, kept so the slider re-runs without decoding

/** Draw the picture with each box and its label, as demo_support.draw_boxes does. */
function drawPicture(picture, result, classes) {
  const canvas = element("picture");
  canvas.width = picture.width;
  canvas.height = picture.height;
  canvas.hidden = false;
  const context = canvas.getContext("2d");
  context.drawImage(picture.bitmap, 0, 0);
  const line = Math.max(2, Math.round(Math.min(picture.width, picture.height) / 150));
  const fontSize = Math.max(12, Math.round(Math.min(picture.width, picture.height) / 25));
  context.font = `${fontSize}px sans-serif`;
  context.lineWidth = line;
  context.textBaseline = "top";
  for (const box of result.boxes) {
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

async function showPrediction() {
  if (!currentPicture) return;
  const model = await modelReady;
  const result = await predictPicture(model, currentPicture, threshold());
  drawPicture(currentPicture, result, model.config.classes);
  showResult(result);
}

/** Decode a new picture (upload, drop, paste, webcam or example) and predict it. */
async function usePicture(source) {
  if (source instanceof Blob && source.size > MAX_UPLOAD_BYTES) {
    const limit = (MAX_UPLOAD_BYTES / 1e6).toFixed(0);
    showStatus(`The file is ${(source.size / 1e6).toFixed(0)} MB; upload a photo under ${limit} MB.`, true);
    return;
  }
  showStatus("Predicting…");
  try {
    const picture = await readPixels(source);
    if (picture.width * picture.height > MAX_PIXELS) {
      showStatus(
        `The picture is ${picture.width}x${picture.height} pixels; upload one under 40 megapixels.`,
        true,
      );
      return;
    }
    currentPicture = picture;
  } catch {
    showStatus("That file is not a picture this demo can read. Upload a JPEG, PNG or WebP photo.", true);
    return;
  }
  await showPrediction();
}

function wireInputs() {
  const drop = element("drop");
  element("file").addEventListener("change", (event) => {
    if (event.target.files[0]) usePicture(event.target.files[0]);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") element("file").click();
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) usePicture(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = [...event.clipboardData.files].find((item) => item.type.startsWith("image/"));
    if (file) usePicture(file);
  });
  element("threshold").addEventListener("change", showPrediction);
  wireWebcam();
}

/** The webcam, where the browser offers one (a secure page, a camera, the visitor's consent). */
function wireWebcam() {
  if (!navigator.mediaDevices?.getUserMedia) return;
  const video = element("webcam");
  const start = element("webcam-start");
  const snap = element("webcam-snap");
  start.hidden = false;
  start.addEventListener("click", async () => {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch {
      showStatus("The webcam is not available here; upload a photo instead.", true);
      return;
    }
    await video.play();
    video.hidden = false;
    snap.hidden = false;
  });
  snap.addEventListener("click", () => {
    const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    canvas.getContext("2d").drawImage(video, 0, 0);
    video.srcObject.getTracks().forEach((track) => track.stop());
    video.hidden = true;
    snap.hidden = true;
    canvas.convertToBlob({ type: "image/png" }).then(usePicture);
  });
}

function exampleButton(example) {
  const button = document.createElement("button");
  button.type = "button";
  const thumbnail = document.createElement("img");
  thumbnail.src = example.input;
  thumbnail.alt = example.label || "example";
  button.append(thumbnail);
  button.addEventListener("click", () => usePicture(example.input));
  return button;
}

async function showExamples() {
  const response = await fetch("examples.json");
  const examples = response.ok ? await response.json() : [];
  element("examples").replaceChildren(...examples.map(exampleButton));
}

/** demo_support.about_markdown's numbers: the test metric against the baseline, from metrics.json. */
async function showMetrics() {
  const response = await fetch("reports/metrics.json");
  const lines = [];
  if (!response.ok) {
    lines.push("No metrics yet: run <code>python -m surgical_tool_detector evaluate</code>.");
  } else {
    const metrics = await response.json();
    const name = (key) => METRIC_NAMES[key] || key;
    const shown = (number) => (number === null || number === undefined ? "n/a" : number.toFixed(3));
    const { metric, value, ci95 } = metrics.headline;
    const named = metrics.headline.class ? `${name(metric)} of ${metrics.headline.class}` : name(metric);
    let headline = `<strong>${named}</strong> on the test split: <strong>${shown(value)}</strong>`;
    if (ci95) {
      // The interval says how far the number could move on another test set this size.
      headline += ` (95% interval ${shown(ci95[0])} to ${shown(ci95[1])}, over ${metrics.test_size} test items)`;
    }
    const baseline = metrics.baseline || {};
    if (baseline.metrics && metric in baseline.metrics) {
      headline += ` (baseline, ${baseline.name}: ${shown(baseline.metrics[metric])})`;
    }
    lines.push(headline);
    const others = Object.entries(metrics.metrics)
      .filter(([key, number]) => key !== metric && number !== null)
      .map(([key, number]) => `${name(key)} ${shown(number)}`);
    if (others.length) lines.push(`Also: ${others.join(", ")}.`);
    for (const warning of metrics.warnings || []) lines.push(`<em>Caution: ${warning}.</em>`);
    if (metrics.sample_data) lines.push("<em>Trained on the built-in sample data, not on real data yet.</em>");
  }
  element("metrics").innerHTML = lines.map((line) => `<p>${line}</p>`).join("");
}

element("threshold").addEventListener("input", () => {
  element("threshold-value").textContent = threshold().toFixed(2);
});
wireInputs();
showExamples();
showMetrics();
modelReady.then(
  () => showStatus("Ready: pick an example, or give it a photo of your own."),
  (error) => showStatus(`The model could not be loaded: ${error.message}`, true),
);
