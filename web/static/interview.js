// The interview page: connect the microphone to the interviewer and play the interviewer's voice.
//
// Embedded mode (no LiveKit server): a plain RTCPeerConnection to the web app. The offer (with every
// ICE candidate) is POSTed to data-offer-url and the answer comes back; a "voxbank" data channel
// carries captions and the end of the interview. If the connection drops, the page reconnects and
// the server resumes the same interview. LiveKit mode needs the livekit-client bundle (npm) at
// /static/vendor/livekit-client.umd.min.js and joins the visit's room with a token from data-token-url.
//
// window.voxbankInterview exposes the state (status, captions, ended) for the page and for tests.
(function () {
  "use strict";
  const root = document.getElementById("interview");
  if (!root) return;
  const startButton = document.getElementById("interview-start");
  const statusLine = document.getElementById("interview-status");
  const captions = document.getElementById("interview-captions");
  const showCaptions = document.getElementById("interview-show-captions");
  const done = document.getElementById("interview-done");
  const audio = document.getElementById("interview-audio");
  const state = (window.voxbankInterview = { status: "idle", captions: [], ended: null, pc: null, reconnects: 0 });
  let microphone = null;

  function setStatus(status, text) {
    state.status = status;
    statusLine.textContent = text;
  }

  function onMessage(message) {
    if (message.type === "caption") {
      state.captions.push(message.text);
      const line = document.createElement("p");
      line.textContent = message.text;
      captions.appendChild(line);
      while (captions.childElementCount > 3) captions.removeChild(captions.firstElementChild);
    } else if (message.type === "ended") {
      state.ended = message.status;
      setStatus("ended", message.status === "completed" ? "The interview is over." : "The interview has ended.");
      done.hidden = false;
      if (state.pc) state.pc.close();
      if (microphone) microphone.getTracks().forEach((track) => track.stop());
    }
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

  async function connectEmbedded() {
    const pc = new RTCPeerConnection({ iceServers: [] });
    state.pc = pc;
    microphone.getAudioTracks().forEach((track) => pc.addTrack(track, microphone));
    const channel = pc.createDataChannel("voxbank");
    channel.onmessage = (event) => onMessage(JSON.parse(event.data));
    pc.ontrack = (event) => {
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      audio.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") setStatus("connected", "Connected. The interviewer will speak first.");
      if (state.ended !== null) return;
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
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || "the server did not accept the connection");
    }
    await pc.setRemoteDescription(await response.json());
  }

  function reconnect(oldPc) {
    if (state.pc !== oldPc) return;
    state.reconnects += 1;
    setStatus("reconnecting", "The connection dropped. Reconnecting; the interview will go on where it was…");
    oldPc.close();
    const wait = Math.min(10000, 1000 * state.reconnects);
    setTimeout(() => connectEmbedded().catch((error) => failed(error, oldPc)), wait);
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
    setStatus("error", "Could not connect: " + error.message + ". Please reload the page to try again.");
    startButton.disabled = false;
  }

  showCaptions.addEventListener("change", () => {
    captions.hidden = !showCaptions.checked;
  });

  startButton.addEventListener("click", async () => {
    startButton.disabled = true;
    setStatus("connecting", "Connecting…");
    try {
      microphone = microphone || (await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      }));
      if (root.dataset.mode === "livekit") await connectLiveKit();
      else await connectEmbedded();
    } catch (error) {
      failed(error, null);
    }
  });
})();
