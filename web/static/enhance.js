// Progressive enhancement only: every page works without this file.
// - Timeline: the caption under the chart follows the marker under the pointer or keyboard focus.
// - Version pages: the left/right arrow keys go to the previous/next version.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var caption = document.getElementById("chart-caption");
  if (caption) {
    var markers = document.querySelectorAll("#timeline .marker");
    var show = function (event) {
      caption.textContent = event.currentTarget.getAttribute("data-label");
    };
    for (var i = 0; i < markers.length; i++) {
      markers[i].addEventListener("mouseenter", show);
      markers[i].addEventListener("focus", show);
    }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var link = event.key === "ArrowLeft" ? document.getElementById("prev")
             : event.key === "ArrowRight" ? document.getElementById("next") : null;
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
});
