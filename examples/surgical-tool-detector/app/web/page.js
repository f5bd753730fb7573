// The page: the same widgets and sentences as app/demo_support.py gives the Python apps, with the
// model running here in the browser (model.js) instead of on a server. What differs by task (the
// input, the prediction, the words for an answer) is in the task's own module, imported below.
import { loadModel, readJson } from "./model.js";
import * as task from "./boxes.js";

const DOWNLOAD_NAMES = { runtime: "The runtime (onnxruntime-web)", model: "The model" };
const element = (id) => document.getElementById(id);
const threshold = () => Number(element("threshold").value);
const megabytes = (bytes) => (bytes / 1e6).toFixed(1);
let modelReady; // the loaded model, warmed up; a new promise after each retry
let latest = 0; // the number of the newest input: an answer for an older one is dropped

function showStatus(message, isError = false) {
  element("status").textContent = message;
  element("status").classList.toggle("error", isError);
  if (isError) {
    // An old answer next to a new error would read as the answer to the bad input.
    element("summary").textContent = "";
    element("answer").hidden = true;
  }
}

/** One bar per download, with its size: what the visitor waits for, and how long. */
function showProgress(file, received, total) {
  let bar = element(`download-${file}`);
  if (!bar) {
    const row = document.createElement("div");
    row.className = "download";
    const label = document.createElement("label");
    label.htmlFor = `download-${file}`;
    label.id = `download-${file}-label`;
    bar = document.createElement("progress");
    bar.id = `download-${file}`;
    row.append(label, bar);
    element("downloads").append(row);
  }
  bar.max = total;
  bar.value = Math.min(received, total);
  element(`download-${file}-label`).textContent =
    `${DOWNLOAD_NAMES[file]}: ${megabytes(received)} of ${megabytes(total)} MB`;
}

/** Download, start and warm up the model; on failure say why and offer to try again. */
function startLoading() {
  element("retry").hidden = true;
  showStatus("Loading the model into your browser…");
  modelReady = loadModel(showProgress, () => showStatus("Starting the model…"))
    .then(async (model) => {
      await task.warmUp(model);
      return model;
    })
    .catch((error) => {
      // The sentence every waiting prediction shows too, instead of waiting forever.
      throw new Error(`The model could not be loaded: ${error.message}. Check the connection and try again.`);
    });
  modelReady.then(
    () => {
      element("downloads").hidden = true;
      showStatus("Ready: pick an example, or try your own.");
    },
    (error) => {
      showStatus(error.message, true);
      element("retry").hidden = false;
    },
  );
}

/**
 * Read one input, run work(model, input, threshold) and show the view it returns: {summary, rows,
 * show()}. Only the newest input's answer is shown, however long an older one takes.
 */
async function present(read, work) {
  const request = ++latest;
  showStatus("Predicting…");
  try {
    const input = await read(); // checked first: a file the model can't take is refused at once
    const view = await work(await modelReady, input, threshold());
    if (request === latest) showAnswer(view);
  } catch (error) {
    if (request === latest) showStatus(error.message, true);
  }
}

function showAnswer(view) {
  showStatus("");
  element("summary").textContent = view.summary; // a live region: screen readers announce it
  element("scores").replaceChildren(
    ...view.rows.map(([text, score]) => {
      const row = document.createElement("li");
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${Math.round(score * 100)}%`;
      row.append(text, bar);
      return row;
    }),
  );
  view.show?.();
  element("answer").hidden = false;
  // On a phone the answer is below the inputs: bring it into view, sentence first.
  const { top, bottom } = element("summary").getBoundingClientRect();
  if (top < 0 || bottom > innerHeight) element("summary").scrollIntoView({ block: "start" });
}

async function showExamples(use) {
  const examples = await readJson("examples.json").catch(() => []);
  element("examples").replaceChildren(
    ...examples.map((example, i) => task.exampleButton(example, i + 1, use)),
  );
}

/** A paragraph made of text and inline elements: project data always goes in as text. */
function paragraph(...parts) {
  const node = document.createElement("p");
  node.append(
    ...parts.map((part) => {
      if (typeof part === "string") return part;
      const inline = document.createElement(part.tag);
      inline.textContent = part.text;
      return inline;
    }),
  );
  return node;
}

/** demo_support.data_caveat: what a visitor must know about the data behind the numbers. */
function dataCaveat(metrics) {
  if (metrics.smoke) return "From a --smoke run on a few items: these numbers only show that the code runs.";
  if (metrics.sample_data) return "Trained on the built-in sample data, not on real data yet.";
  const sources = metrics.data_sources || {};
  if (sources.synth) {
    const total = Object.values(sources).reduce((sum, count) => sum + count, 0);
    const share = sources.synth === total ? "All the" : `${sources.synth} of the ${total}`;
    return `${share} images were synthesized by cut-and-paste, not photographed: expect lower numbers on real photos.`;
  }
  return null;
}

/** demo_support.about_markdown's numbers: the test metric against the baseline, from metrics.json. */
async function showMetrics() {
  let metrics;
  try {
    metrics = await readJson("reports/metrics.json");
  } catch {
    element("metrics").replaceChildren(
      paragraph("No metrics yet: run ", { tag: "code", text: "python -m surgical_tool_detector evaluate" }, "."),
    );
    return;
  }
  const name = (key) => task.METRIC_NAMES[key] || key;
  const shown = (number) => (typeof number === "number" ? number.toFixed(3) : "n/a");
  const { metric, value, ci95 } = metrics.headline;
  const named = metrics.headline.class ? `${name(metric)} of ${metrics.headline.class}` : name(metric);
  const headline = [{ tag: "strong", text: named }, " on the test split: ", { tag: "strong", text: shown(value) }];
  if (ci95) {
    // The interval says how far the number could move on another test set this size.
    headline.push(` (95% interval ${shown(ci95[0])} to ${shown(ci95[1])}, over ${metrics.test_size} test items)`);
  }
  const baseline = metrics.baseline || {};
  if (baseline.metrics && metric in baseline.metrics) {
    headline.push(` (baseline, ${baseline.name}: ${shown(baseline.metrics[metric])})`);
  }
  const lines = [paragraph(...headline)];
  const others = Object.entries(metrics.metrics || {})
    .filter(([key, number]) => key !== metric && typeof number === "number")
    .map(([key, number]) => `${name(key)} ${shown(number)}`);
  if (others.length) lines.push(paragraph(`Also: ${others.join(", ")}.`));
  for (const warning of metrics.warnings || []) {
    lines.push(paragraph({ tag: "em", text: `Caution: ${warning}.` }));
  }
  const caveat = dataCaveat(metrics);
  if (caveat) lines.push(paragraph({ tag: "em", text: caveat }));
  element("metrics").replaceChildren(...lines);
}

startLoading(); // first: the downloads are what a visitor waits for
// The handle for scripts and tests: the same answer as `python -m surgical_tool_detector predict --json`.
window.pocgen = {
  get ready() {
    return modelReady.then(() => true);
  },
  predict: async (input, chosenThreshold = 0.5) => task.answer(await modelReady, input, chosenThreshold),
};
element("threshold").addEventListener("input", () => {
  element("threshold-value").textContent = threshold().toFixed(2);
});
element("retry").addEventListener("click", startLoading);
const use = task.setUp(present);
showMetrics();
// Example pictures wait for the model, so they never slow its downloads down.
modelReady.then(
  () => showExamples(use),
  () => showExamples(use),
);
