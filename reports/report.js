// report.html: sort the findings table by a column, filter it by text, rule, severity,
// location and member, keep the filter in the URL fragment (#filter?rule=...) so a link
// shares it, and open every evidence before printing.
// Reads the table the page already shows (no data is embedded), so the page reads the
// same with JavaScript off; the controls stay hidden then. Inlined by recon, which puts
// this file's SHA-256 in the page's Content-Security-Policy; it must hold no closing tag.
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  var controls = document.getElementById("findings-controls");
  if (!table || !controls) {
    return;
  }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var textBox = document.getElementById("filter-text");
  var ruleBox = document.getElementById("filter-rule");
  var severityBox = document.getElementById("filter-severity");
  var locationBox = document.getElementById("filter-location");
  var memberBox = document.getElementById("filter-member");
  var resetButton = document.getElementById("filter-reset");
  var FRAGMENT = "#filter?";
  var boxes = { q: textBox, rule: ruleBox, severity: severityBox, location: locationBox, member: memberBox };
  var counter = document.getElementById("filter-count");

  // What the text filter searches: every cell, the message without its evidence.
  var haystacks = rows.map(function (row) {
    return Array.prototype.map
      .call(row.cells, function (cell) {
        var message = cell.querySelector(".msg");
        return (message || cell).textContent;
      })
      .join(" ")
      .toLowerCase();
  });

  function readFragment() {
    if (window.location.hash.indexOf(FRAGMENT) !== 0) {
      return;
    }
    var params = new URLSearchParams(window.location.hash.slice(FRAGMENT.length));
    Object.keys(boxes).forEach(function (key) {
      var value = params.get(key) || "";
      var box = boxes[key];
      if (box.tagName === "SELECT" && value && !box.querySelector('option[value="' + CSS.escape(value) + '"]')) {
        return; // a value this page does not list: leave the filter open
      }
      box.value = value;
    });
  }

  function writeFragment() {
    var params = new URLSearchParams();
    Object.keys(boxes).forEach(function (key) {
      var value = key === "q" ? boxes[key].value.trim() : boxes[key].value;
      if (value) {
        params.set(key, value);
      }
    });
    var fragment = params.toString() ? FRAGMENT + params.toString() : "";
    if (window.location.hash !== fragment && (fragment || window.location.hash.indexOf(FRAGMENT) === 0)) {
      try {
        history.replaceState(null, "", fragment || window.location.pathname + window.location.search);
      } catch (error) {
        // some file:// contexts refuse it; the filter still works, only the link does not keep it
      }
    }
  }

  function applyFilter() {
    var needle = textBox.value.trim().toLowerCase();
    var rule = ruleBox.value;
    var severity = severityBox.value;
    var place = locationBox.value;
    var member = memberBox.value;
    var shown = 0;
    rows.forEach(function (row, index) {
      var match =
        (!rule || row.getAttribute("data-rule") === rule) &&
        (!severity || row.getAttribute("data-severity") === severity) &&
        (!place || row.getAttribute("data-location") === place) &&
        (!member || row.getAttribute("data-member") === member) &&
        (!needle || haystacks[index].indexOf(needle) !== -1);
      row.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    counter.textContent =
      shown === rows.length
        ? "Showing all " + rows.length.toLocaleString("en") + " rows."
        : "Showing " + shown.toLocaleString("en") + " of " + rows.length.toLocaleString("en") + " rows.";
    writeFragment();
  }

  function sortKey(cell, kind) {
    var message = cell.querySelector(".msg");
    var raw = cell.hasAttribute("data-value")
      ? cell.getAttribute("data-value")
      : (message || cell).textContent;
    raw = raw.trim();
    if (raw === "") {
      return null;
    }
    if (kind === "num") {
      var number = Number(raw);
      return isNaN(number) ? null : number;
    }
    return raw.toLowerCase();
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") {
      return a - b;
    }
    return String(a).localeCompare(String(b), "en", { numeric: true });
  }

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (header, column) {
    var kind = header.getAttribute("data-sort");
    if (!kind) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    while (header.firstChild) {
      button.appendChild(header.firstChild);
    }
    header.appendChild(button);
    button.addEventListener("click", function () {
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) {
        other.removeAttribute("aria-sort");
      });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var keyed = rows.map(function (row, index) {
        return { row: row, key: sortKey(row.cells[column], kind), index: index };
      });
      keyed.sort(function (a, b) {
        // Empty cells last either way; ties keep the report's own order.
        if (a.key === null || b.key === null) {
          return a.key === b.key ? a.index - b.index : a.key === null ? 1 : -1;
        }
        var order = compare(a.key, b.key);
        return (ascending ? order : -order) || a.index - b.index;
      });
      var ordered = keyed.map(function (item) {
        return item.row;
      });
      // Empty the body, then append every row at once: moving 2,000 rows one by one (or
      // with replaceChildren when the order barely changes) takes Chromium seconds.
      body.textContent = "";
      if (body.append) {
        body.append.apply(body, ordered);
      } else {
        ordered.forEach(function (row) {
          body.appendChild(row);
        });
      }
    });
  });

  textBox.addEventListener("input", applyFilter);
  [ruleBox, severityBox, locationBox, memberBox].forEach(function (box) {
    box.addEventListener("change", applyFilter);
  });
  resetButton.addEventListener("click", function () {
    Object.keys(boxes).forEach(function (key) {
      boxes[key].value = "";
    });
    applyFilter();
  });
  window.addEventListener("hashchange", function () {
    if (window.location.hash.indexOf(FRAGMENT) === 0) {
      readFragment();
      applyFilter();
    }
  });

  // Printing shows every evidence: open them all, and close again those that were closed.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details.evidence"), function (d) {
      return !d.open;
    });
    opened.forEach(function (d) {
      d.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) {
      d.open = false;
    });
    opened = [];
  });

  controls.hidden = false;
  readFragment();
  applyFilter();
})();
