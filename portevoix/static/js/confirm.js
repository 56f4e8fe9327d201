// A button that acts at once on something hard to undo (deactivate a member, disconnect a
// channel, pause every post, end a drill) carries data-confirm="the question": submitting
// through it asks first, and nothing is sent unless the person says yes. Without JavaScript
// the form submits as before (the server's own checks still apply).
(function () {
  "use strict";

  document.addEventListener(
    "submit",
    function (event) {
      var button = event.submitter;
      var question = button && button.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    },
    true
  );
})();
