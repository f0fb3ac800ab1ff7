// report.html: sort the findings table by a column, filter it by text, rule and severity.
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
  var resetButton = document.getElementById("filter-reset");
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

  function applyFilter() {
    var needle = textBox.value.trim().toLowerCase();
    var rule = ruleBox.value;
    var severity = severityBox.value;
    var shown = 0;
    rows.forEach(function (row, index) {
      var match =
        (!rule || row.getAttribute("data-rule") === rule) &&
        (!severity || row.getAttribute("data-severity") === severity) &&
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
  ruleBox.addEventListener("change", applyFilter);
  severityBox.addEventListener("change", applyFilter);
  resetButton.addEventListener("click", function () {
    textBox.value = "";
    ruleBox.value = "";
    severityBox.value = "";
    applyFilter();
  });
  controls.hidden = false;
  applyFilter();
})();
