// The interview page: connect the microphone to the interviewer, play the interviewer's voice, and show
// and drive the interview: its state (speaking, listening to you, thinking, paused), its progress through
// the guide, subtitles of both sides, and the Pause, Resume and End interview buttons.
//
// Embedded mode (no LiveKit server): a plain RTCPeerConnection to the web app. The offer (with every
// ICE candidate) is POSTed to data-offer-url and the answer comes back; a "voxbank" data channel
// carries the server's messages (captions, state, progress, recap, moved, ended) one way and the
// controls (pause, resume, end) the other. If the connection drops, the page reconnects and the server
// resumes the same interview. A tab keeps its own id across reloads (sessionStorage): a reload takes
// over its own call, while another tab or device is told the interview is open elsewhere and may move
// it here ("take_over"); the tab it moved from is told and does not reconnect.
// LiveKit mode needs the livekit-client bundle (npm) at /static/vendor/livekit-client.umd.min.js and
// joins the visit's room with a token from data-token-url (its controls are not carried yet).
//
// window.voxbankInterview exposes the state for the page and for tests.
(function () {
  "use strict";
  const root = document.getElementById("interview");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const startButton = $("interview-start");
  const intro = $("interview-intro");
  const live = $("interview-live");
  const stateLine = $("interview-state");
  const progressLine = $("interview-progress");
  const pauseButton = $("interview-pause");
  const resumeButton = $("interview-resume");
  const endButton = $("interview-end");
  const endConfirm = $("interview-end-confirm");
  const elsewhere = $("interview-elsewhere");
  const elsewhereText = $("interview-elsewhere-text");
  const statusLine = $("interview-status");
  const captions = $("interview-captions");
  const showCaptions = $("interview-show-captions");
  const done = $("interview-done");
  const doneText = $("interview-done-text");
  const audio = $("interview-audio");
  const name = root.dataset.interviewer || "The interviewer";
  const state = (window.voxbankInterview = {
    status: "idle", state: null, states: [], captions: [], heard: [], recaps: [], progress: null, ended: null,
    pc: null, channel: null, reconnects: 0, moved: false, elsewhere: false,
  });
  const STATE_WORDS = {
    speaking: name + " is speaking.",
    listening: "Listening to you. Speak whenever you are ready.",
    thinking: name + " is thinking…",
    paused: "Paused. Nothing is heard or said until you press Resume.",
  };
  let microphone = null;

  function tabId() {
    let id = sessionStorage.getItem("voxbank-interview-tab");
    if (!id) {
      id = Math.random().toString(36).slice(2) + Date.now().toString(36);
      sessionStorage.setItem("voxbank-interview-tab", id);
    }
    return id;
  }

  function setStatus(status, text) {
    state.status = status;
    statusLine.textContent = text;
  }

  function showState(name) {
    state.state = name;
    state.states.push(name);
    stateLine.dataset.state = name;
    stateLine.textContent = STATE_WORDS[name] || "";
    const paused = name === "paused";
    pauseButton.hidden = paused;
    resumeButton.hidden = !paused;
  }

  function addCaption(speaker, text, extra) {
    const line = document.createElement("p");
    line.className = "caption caption-" + speaker + (extra ? " " + extra : "");
    line.textContent = (speaker === "participant" ? "You: " : name + ": ") + text;
    captions.appendChild(line);
    while (captions.childElementCount > 4) captions.removeChild(captions.firstElementChild);
  }

  function minutes(seconds) {
    const m = Math.round(seconds / 60);
    return m <= 1 ? "about a minute" : "about " + m + " minutes";
  }

  function onMessage(message) {
    if (message.type === "caption") {
      if (message.speaker === "participant") state.heard.push(message.text);
      else state.captions.push(message.text);
      addCaption(message.speaker === "participant" ? "participant" : "interviewer", message.text);
    } else if (message.type === "state") {
      showState(message.state);
    } else if (message.type === "progress") {
      state.progress = message;
      progressLine.textContent = "Part " + message.module_number + " of " + message.modules + ": " + message.module +
        ". Time left: " + minutes(message.left_s) + ".";
    } else if (message.type === "recap") {
      state.recaps.push(message.text);
      addCaption("interviewer", message.text, "caption-recap");
      setStatus("connected", "Welcome back. The last question was: “" + message.text + "” Answer whenever you are ready.");
    } else if (message.type === "moved") {
      state.moved = true;
      hangUp();
      showElsewhere("The interview has moved to another tab or device.");
    } else if (message.type === "ended") {
      state.ended = message.status;
      const stopped = message.status === "stopped";
      setStatus("ended", "");
      doneText.textContent = stopped ? "The interview was ended as you asked. Thank you for your time!"
        : message.status === "completed" ? "The interview is over. Thank you!"
        : "The interview has ended. Please continue.";
      live.hidden = true;
      intro.hidden = true;
      done.hidden = false;
      hangUp();
    }
  }

  function hangUp() {
    if (state.pc) state.pc.close();
    if (microphone) microphone.getTracks().forEach((track) => track.stop());
    microphone = null;
  }

  function showElsewhere(text) {
    state.elsewhere = true;
    elsewhereText.textContent = text;
    elsewhere.hidden = false;
    live.hidden = true;
    intro.hidden = true;
    setStatus("elsewhere", "");
  }

  function send(message) {
    if (state.channel && state.channel.readyState === "open") state.channel.send(JSON.stringify(message));
  }

  function iceGathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (pc.iceGatheringState === "complete") {
          pc.removeEventListener("icegatheringstatechange", check);
          resolve();
        }
      };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(resolve, 5000); // use what was gathered so far
    });
  }

  class OpenElsewhere extends Error {}

  async function connectEmbedded(takeOver) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    state.pc = pc;
    microphone.getAudioTracks().forEach((track) => pc.addTrack(track, microphone));
    const channel = pc.createDataChannel("voxbank");
    state.channel = channel;
    channel.onmessage = (event) => onMessage(JSON.parse(event.data));
    pc.ontrack = (event) => {
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      audio.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") setStatus("connected", "Connected.");
      if (state.ended !== null || state.moved || state.pc !== pc) return;
      if (pc.connectionState === "failed") reconnect(pc);
      if (pc.connectionState === "disconnected") {
        // often a blip that heals by itself; reconnect only if it does not
        setTimeout(() => { if (pc.connectionState !== "connected") reconnect(pc); }, 4000);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    const response = await fetch(root.dataset.offerUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, tab: tabId(),
                             take_over: Boolean(takeOver) }),
    });
    if (response.status === 409) {
      pc.close();
      throw new OpenElsewhere("This interview is open in another tab or on another device.");
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || "the server did not accept the connection");
    }
    await pc.setRemoteDescription(await response.json());
  }

  function reconnect(oldPc) {
    if (state.pc !== oldPc || state.moved) return;
    state.reconnects += 1;
    setStatus("reconnecting", "The connection dropped. Reconnecting; the interview will go on where it was…");
    oldPc.close();
    const wait = Math.min(10000, 1000 * state.reconnects);
    setTimeout(() => connectEmbedded(false).catch((error) => failed(error, oldPc)), wait);
  }

  async function connectLiveKit() {
    const LK = window.LivekitClient;
    if (!LK) throw new Error("the LiveKit client is not installed on this server");
    const response = await fetch(root.dataset.tokenUrl, {
      method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error("the server did not give a room token");
    const details = await response.json();
    const room = new LK.Room({ adaptiveStream: false });
    room.on(LK.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === "audio") track.attach(audio);
    });
    room.on(LK.RoomEvent.Disconnected, () => {
      if (state.ended === null) setStatus("disconnected", "Disconnected. Reload the page to go on where you were.");
    });
    await room.connect(details.url, details.token);
    await room.localParticipant.setMicrophoneEnabled(true);
    setStatus("connected", "Connected. The interviewer will speak first.");
  }

  function failed(error, pc) {
    if (pc && state.pc !== pc) return;
    if (error instanceof OpenElsewhere) {
      showElsewhere(error.message);
      return;
    }
    setStatus("error", "Could not connect: " + error.message + ". Please reload the page to try again.");
    intro.hidden = false;
    live.hidden = true;
    startButton.disabled = false;
  }

  async function start(takeOver) {
    startButton.disabled = true;
    intro.hidden = true;
    elsewhere.hidden = true;
    state.moved = false;
    state.elsewhere = false;
    live.hidden = false;
    showState("connecting");
    stateLine.textContent = "Connecting…";
    setStatus("connecting", "Connecting…");
    try {
      microphone = microphone || (await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      }));
      if (root.dataset.mode === "livekit") {
        pauseButton.hidden = endButton.hidden = true; // the controls travel on the embedded data channel only
        await connectLiveKit();
      } else {
        await connectEmbedded(takeOver);
      }
    } catch (error) {
      failed(error, null);
    }
  }

  showCaptions.addEventListener("change", () => { captions.hidden = !showCaptions.checked; });
  startButton.addEventListener("click", () => start(false));
  $("interview-move-here").addEventListener("click", () => start(true));
  pauseButton.addEventListener("click", () => { send({ type: "pause" }); showState("paused"); });
  resumeButton.addEventListener("click", () => { send({ type: "resume" }); showState("listening"); });
  endButton.addEventListener("click", () => { endConfirm.hidden = false; });
  $("interview-end-no").addEventListener("click", () => { endConfirm.hidden = true; });
  $("interview-end-yes").addEventListener("click", () => {
    endConfirm.hidden = true;
    pauseButton.disabled = resumeButton.disabled = endButton.disabled = true;
    send({ type: "end" });
    setStatus("ending", "Ending the interview…");
  });
})();
