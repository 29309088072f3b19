// siam-rt report: a plain script (no modules, no fetch), so the page works opened from file://.
(function () {
  "use strict";
  var current = null;
  var lit = null;

  function stop() {
    if (current) { current.pause(); }
    if (lit) { lit.classList.remove("playing"); lit = null; }
  }

  function playEvent(g) {
    var audio = document.getElementById(g.getAttribute("data-audio"));
    if (!audio) { return; }
    stop();
    audio.currentTime = 0;
    var started = audio.play();
    if (started && started.catch) { started.catch(function () {}); }
    current = audio;
    lit = g;
    g.classList.add("playing");
    audio.onended = function () { if (lit === g) { g.classList.remove("playing"); lit = null; } };
  }

  var events = document.querySelectorAll(".event[data-audio]");
  for (var i = 0; i < events.length; i++) {
    (function (g) {
      g.addEventListener("click", function () { playEvent(g); });
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); playEvent(g); }
      });
    })(events[i]);
  }

  // One track at a time; the playhead of a section follows whichever of its tracks plays.
  var sections = document.querySelectorAll("section.input");
  for (var s = 0; s < sections.length; s++) {
    (function (section) {
      var svg = section.querySelector("svg.timeline");
      var line = section.querySelector(".playhead");
      var pps = svg ? parseFloat(svg.getAttribute("data-pps")) : 0;
      var x0 = svg ? parseFloat(svg.getAttribute("data-x0")) : 0;
      var tracks = section.querySelectorAll(".tracks audio");
      for (var t = 0; t < tracks.length; t++) {
        (function (audio) {
          audio.addEventListener("play", function () {
            if (current && current !== audio) { stop(); }
            current = audio;
          });
          audio.addEventListener("timeupdate", function () {
            if (!line) { return; }
            var x = x0 + audio.currentTime * pps;
            line.setAttribute("x1", x);
            line.setAttribute("x2", x);
          });
        })(tracks[t]);
      }
    })(sections[s]);
  }
})();
