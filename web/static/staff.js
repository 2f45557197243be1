// voxbank staff dashboard: the two things that need a script.
// 1. Participant page: click a transcript turn to hear it (seek that speaker's channel); the playing turn is marked.
// 2. Live page: refresh the table of interviews in progress every few seconds (GET /staff/live/rows).
(function () {
  "use strict";

  function players(section) {
    var out = {};
    section.querySelectorAll("audio[data-channel]").forEach(function (audio) { out[audio.dataset.channel] = audio; });
    return out;
  }

  document.querySelectorAll("section.interview").forEach(function (section) {
    var audios = players(section);
    var turns = Array.prototype.slice.call(section.querySelectorAll(".transcript li"));
    function play(turn) {
      var audio = audios[turn.dataset.speaker];
      if (!audio) { return; }
      Object.keys(audios).forEach(function (k) { if (audios[k] !== audio) { audios[k].pause(); } });
      audio.currentTime = parseFloat(turn.dataset.start);
      audio.play();
    }
    turns.forEach(function (turn) {
      turn.addEventListener("click", function () { play(turn); });
      turn.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); play(turn); }
      });
    });
    Object.keys(audios).forEach(function (channel) {
      audios[channel].addEventListener("timeupdate", function () {
        var now = audios[channel].currentTime;
        turns.forEach(function (turn) {
          var on = turn.dataset.speaker === channel && now >= parseFloat(turn.dataset.start) &&
            now < parseFloat(turn.dataset.end) && !audios[channel].paused;
          turn.classList.toggle("playing", on);
        });
      });
    });
  });

  var live = document.querySelector("[data-live-source]");
  if (live) {
    var status = document.querySelector("[data-live-status]");
    var refresh = function () {
      fetch(live.dataset.liveSource, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (html) {
          live.innerHTML = html;
          if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString(); }
        })
        .catch(function (error) { if (status) { status.textContent = "Could not update (" + error.message + ")"; } });
    };
    setInterval(refresh, parseInt(live.dataset.liveEvery || "5000", 10));
  }
}());
