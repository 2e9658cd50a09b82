/* Live updates for /status: reload when a pushed status differs from what the page shows.
   Reading the page needs no script; without EventSource nothing happens. */
(function () {
  var root = document.getElementById("status");
  if (!root || !root.dataset.stream || !window.EventSource) return;
  var source = new EventSource(root.dataset.stream);
  source.addEventListener("status", function (event) {
    var status = JSON.parse(event.data);
    var shownStale = !!root.querySelector('[data-role="stale-notice"]');
    var changed = status.stale !== shownStale || status.components.some(function (component) {
      var row = root.querySelector('[data-component="' + component.id + '"]');
      return !row || row.dataset.state !== component.status;
    });
    if (changed) {
      source.close();
      window.location.reload();
    }
  });
})();
