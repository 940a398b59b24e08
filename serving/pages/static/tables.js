// Tables that sort (click a heading; numbers by their data-sort value) and search (the box
// above a table filters its rows). Used by every page; no dependencies.
(function () {
  function cellKey(row, index) {
    const cell = row.children[index];
    if (!cell) return "";
    return cell.dataset.sort !== undefined ? parseFloat(cell.dataset.sort) : cell.textContent.trim().toLowerCase();
  }
  function sortBy(table, index, header) {
    const body = table.tBodies[0];
    const ascending = !header.classList.contains("asc");
    table.querySelectorAll("th").forEach((th) => th.classList.remove("asc", "desc"));
    header.classList.add(ascending ? "asc" : "desc");
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = cellKey(a, index), y = cellKey(b, index);
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  }
  function wire(root) {
    root.querySelectorAll("table.sortable").forEach((table) => {
      if (table.dataset.wired) return;
      table.dataset.wired = "1";
      table.querySelectorAll("th").forEach((th, index) => th.addEventListener("click", () => sortBy(table, index, th)));
    });
    root.querySelectorAll("input.table-search").forEach((box) => {
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.addEventListener("input", () => {
        const table = document.getElementById(box.dataset.table);
        const needle = box.value.trim().toLowerCase();
        Array.from(table.tBodies[0].rows).forEach((row) => {
          row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
        });
      });
    });
  }
  window.storefrontTables = { wire: wire };
  document.addEventListener("DOMContentLoaded", () => wire(document));
})();
