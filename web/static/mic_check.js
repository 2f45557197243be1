// The microphone check: a live level meter, four seconds recorded and played back, and a clear message
// when nothing was heard (a muted or wrong microphone). Nothing leaves the browser.
//
// window.voxbankMicCheck exposes the result for tests: {peak, result: "heard" | "silent" | "error", recorded, bytes}.
(function () {
  "use strict";
  const button = document.getElementById("mic-check-start");
  if (!button) return;
  const meter = document.getElementById("mic-check-level");
  const status = document.getElementById("mic-check-status");
  const playback = document.getElementById("mic-check-playback");
  const RECORD_MS = 4000;
  const HEARD_LEVEL = 0.02; // RMS of the loudest 100 ms; a muted microphone gives digital silence (0)
  const check = (window.voxbankMicCheck = { peak: 0, result: null, recorded: false, running: false, bytes: 0 });
  let stream = null;

  function level(analyser, buffer) {
    analyser.getFloatTimeDomainData(buffer);
    let sum = 0;
    for (let i = 0; i < buffer.length; i += 1) sum += buffer[i] * buffer[i];
    return Math.sqrt(sum / buffer.length);
  }

  async function run() {
    button.disabled = true;
    check.running = true;
    check.peak = 0;
    check.result = null;
    playback.hidden = true;
    status.textContent = "Recording… please say a sentence now.";
    stream = stream || (await navigator.mediaDevices.getUserMedia({ audio: true }));
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    const buffer = new Float32Array(analyser.fftSize);
    const meterTimer = setInterval(() => {
      const value = level(analyser, buffer);
      meter.value = Math.min(1, value * 5);
      check.peak = Math.max(check.peak, value);
    }, 100);
    const recorder = new MediaRecorder(stream);
    const parts = [];
    recorder.ondataavailable = (event) => { if (event.data.size) parts.push(event.data); };
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, RECORD_MS));
    recorder.stop();
    await stopped;
    clearInterval(meterTimer);
    meter.value = 0;
    context.close();
    const recording = new Blob(parts, { type: recorder.mimeType });
    check.bytes = recording.size;
    playback.src = URL.createObjectURL(recording);
    playback.hidden = false;
    check.recorded = true;
    if (check.peak < HEARD_LEVEL) {
      check.result = "silent";
      status.textContent = "We heard nothing from your microphone. Check that it is not muted, that your " +
        "browser uses the right microphone, and try again.";
    } else {
      check.result = "heard";
      status.textContent = "We heard you. Listen to the recording: if it sounds clear, you are ready. " +
        "If not, move closer to the microphone or find a quieter place, and try again.";
      playback.play().catch(() => {});
    }
    button.textContent = "Test again";
    button.disabled = false;
    check.running = false;
  }

  button.addEventListener("click", () => {
    run().catch((error) => {
      check.result = "error";
      check.running = false;
      button.disabled = false;
      status.textContent = "The microphone could not be used: " + error.message + ". Please allow the " +
        "microphone in your browser's settings and try again.";
    });
  });
})();
