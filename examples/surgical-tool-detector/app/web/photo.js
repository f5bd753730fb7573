// The photo side of the page: upload, drop, paste, webcam and examples feed one picture at a time
// to the model; the picture is shown with what the model found.

import { readPixels } from "./pixels.js";

const element = (id) => document.getElementById(id);

/**
 * Wire every way of giving a photo. `present(read, work)` is the page's: it reads the input, runs
 * work(model, input, threshold) and shows the view it returns, unless a newer input came
 * meanwhile. predictPicture(model, picture, threshold) is the task's prediction, and
 * describe(result, threshold, classes) its words. Returns use(input): give the model a photo (a
 * Blob, or a URL of this site).
 */
export function setUpPhotos(present, predictPicture, describe) {
  let current = null; // the picture on show, so the threshold slider re-runs without decoding

  const answer = (read) =>
    present(read, async (model, picture, threshold) => {
      const result = await predictPicture(model, picture, threshold);
      const view = describe(result, threshold, model.config.classes);
      return {
        ...view,
        show() {
          current = picture;
          drawPicture(picture, view);
        },
      };
    });
  const use = (input) => {
    stopWebcam();
    answer(() => readPixels(input));
  };

  element("file").addEventListener("change", (event) => {
    if (event.target.files[0]) use(event.target.files[0]);
    event.target.value = ""; // choosing the same file again is a new upload
  });
  const drop = element("drop");
  drop.addEventListener("click", () => element("file").click());
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) use(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = [...event.clipboardData.files].find((item) => item.type.startsWith("image/"));
    if (file) use(file);
  });
  element("threshold").addEventListener("change", () => {
    if (current) answer(() => current);
  });
  wireWebcam(use, present);
  return use;
}

/** The picture on the page's canvas, with the task's drawing on top and its words as alt text. */
function drawPicture(picture, view) {
  let canvas = element("picture");
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.id = "picture";
    canvas.setAttribute("role", "img"); // read out as a picture, by the label set below
    element("answer").prepend(canvas);
  }
  canvas.width = picture.width;
  canvas.height = picture.height;
  const context = canvas.getContext("2d");
  context.putImageData(new ImageData(picture.data, picture.width, picture.height), 0, 0);
  view.drawOn?.(context, picture);
  canvas.setAttribute("aria-label", `Your photo. ${view.summary}`);
}

let stream = null; // the one webcam stream this page holds, if any
let webcamRequest = 0; // a newer request (or a stop) makes an older pending one give up

/** Stop the webcam: after a capture, an upload, or when the page is hidden. */
function stopWebcam() {
  webcamRequest += 1;
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  element("webcam").srcObject = null;
  element("webcam").hidden = true;
  element("webcam-snap").hidden = true;
}

/** The webcam, where the browser offers one (a secure page, a camera, the visitor's consent). */
function wireWebcam(use, present) {
  if (!navigator.mediaDevices?.getUserMedia) return;
  const video = element("webcam");
  const start = element("webcam-start");
  const snap = element("webcam-snap");
  start.hidden = false;
  start.addEventListener("click", async () => {
    stopWebcam();
    const request = webcamRequest;
    let opened;
    try {
      opened = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch {
      present(() => {
        throw new Error("The webcam is not available here; upload a photo instead.");
      });
      return;
    }
    if (request !== webcamRequest) {
      opened.getTracks().forEach((track) => track.stop()); // stopped or restarted meanwhile
      return;
    }
    stream = opened;
    video.srcObject = stream;
    video.hidden = false;
    snap.hidden = false;
    await video.play();
  });
  snap.addEventListener("click", () => {
    const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    canvas.getContext("2d").drawImage(video, 0, 0);
    stopWebcam();
    canvas.convertToBlob({ type: "image/png" }).then(use);
  });
  addEventListener("pagehide", stopWebcam);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") stopWebcam();
  });
}

/** An example button named by its number: its name must not give the answer away. */
export function photoExample(example, number, use) {
  const button = document.createElement("button");
  button.type = "button";
  const thumbnail = document.createElement("img");
  thumbnail.src = example.input;
  thumbnail.alt = `Example photo ${number}`;
  button.append(thumbnail);
  button.addEventListener("click", () => use(example.input));
  return button;
}
