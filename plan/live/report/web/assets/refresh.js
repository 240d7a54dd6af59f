// The operator page's live refresh: reload after the period the page
// carries in <body data-refresh="SECONDS"> (0: never). A separate file, so
// the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";
  var s = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (s > 0) {
    window.setTimeout(function () { window.location.reload(); }, s * 1000);
  }
})();
