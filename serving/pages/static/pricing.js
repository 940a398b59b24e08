// The pricing desk: filters, item detail (expected-profit curve and forecast fan, drawn
// with the bundled Plotly), override, approve (after a confirmation showing the change
// against the prices in force), reject and roll back. Every write is a JSON POST to the
// desk's calls; a refusal is shown with its reason. Runs once the page is parsed (it is
// loaded in the head).
document.addEventListener("DOMContentLoaded", () => {
  const config = JSON.parse(document.getElementById("pricing-data").textContent);
  const currency = config.currency || "";
  const $ = (id) => document.getElementById(id);
  const money = (v) => (v === null || v === undefined ? "–" : currency + Number(v).toFixed(2));
  const percent = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
  const esc = (v) => String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const who = () => ($("acting-by").value || "").trim() || "admin";
  const actions = document.querySelector(".actions");
  const proposalId = actions ? actions.dataset.proposal : null;

  async function post(path, body) {
    const answer = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await answer.json().catch(() => ({ error: "no answer" }));
    if (!answer.ok) {
      const rules = data.detail && data.detail.rules ? " [" + data.detail.rules.join(", ") + "]" : "";
      throw new Error((data.error || answer.statusText) + rules);
    }
    return data;
  }

  function done(note) {
    sessionStorage.setItem("pricing-note", note);
    location.reload();
  }
  const kept = sessionStorage.getItem("pricing-note");
  if (kept) {
    $("pricing-status").textContent = kept;
    $("pricing-status").className = "good";
    sessionStorage.removeItem("pricing-note");
  }
  function failed(where, error) {
    where.textContent = error.message;
  }

  // -- filters ----------------------------------------------------------------------
  function filter() {
    const category = $("category-filter").value;
    const flagged = $("flagged-filter").checked;
    document.querySelectorAll("#proposal tbody tr").forEach((row) => {
      const hide = (category && row.dataset.category !== category) || (flagged && row.dataset.flagged !== "1");
      row.classList.toggle("filtered", Boolean(hide));
    });
  }
  if ($("category-filter")) {
    $("category-filter").addEventListener("change", filter);
    $("flagged-filter").addEventListener("change", filter);
  }

  // -- item detail and override -----------------------------------------------------
  let shownItem = null;
  function drawCurve(curve, item) {
    const allowed = curve.broken.map((b) => b.length === 0);
    const text = curve.broken.map((b) => (b.length ? "breaks " + b.join(", ") : "allowed"));
    const traces = [
      { x: curve.price, y: curve.profit, type: "scatter", mode: "lines", name: "expected profit",
        line: { color: "#5b6478" }, text: text,
        hovertemplate: "price %{x:.2f}<br>profit %{y:.2f} / day<br>%{text}<extra></extra>" },
      { x: curve.price.filter((_, i) => allowed[i]), y: curve.profit.filter((_, i) => allowed[i]),
        type: "scatter", mode: "markers", name: "allowed today", marker: { color: "#2f5bd3", size: 5 },
        hovertemplate: "allowed: %{x:.2f} → %{y:.2f} / day<extra></extra>" },
      { x: [curve.proposed_price], y: [curve.expected_profit], type: "scatter", mode: "markers",
        name: "proposed", marker: { color: "#b3261e", size: 11, symbol: "diamond" },
        hovertemplate: "proposed %{x:.2f}<br>profit %{y:.2f} / day<extra></extra>" },
    ];
    const layout = {
      title: { text: "Expected profit over price (e = " + Number(item.elasticity).toFixed(2) + ")" },
      xaxis: { title: { text: "price (" + (currency || "shop currency") + ")" } },
      yaxis: { title: { text: "expected profit / day (" + (currency || "shop currency") + ")" } },
      shapes: [{ type: "line", x0: curve.current_price, x1: curve.current_price, yref: "paper",
                 y0: 0, y1: 1, line: { dash: "dot", color: "#999" } }],
      margin: { t: 40, r: 10 }, height: 320, legend: { orientation: "h" },
    };
    Plotly.newPlot("chart-curve", traces, layout, { displaylogo: false, responsive: true });
  }
  function drawFan(fan) {
    const traces = [
      { x: fan.sold_day, y: fan.sold, type: "scatter", mode: "lines", name: "sold",
        line: { color: "#1d2433", width: 1 }, hovertemplate: "%{x}: %{y:.1f} units<extra>sold</extra>" },
      { x: fan.day, y: fan.p90, type: "scatter", mode: "lines", name: "P90", line: { width: 0 },
        hovertemplate: "%{x}: P90 %{y:.1f} units<extra></extra>", showlegend: false },
      { x: fan.day, y: fan.p10, type: "scatter", mode: "lines", name: "P10–P90", fill: "tonexty",
        fillcolor: "rgba(47,91,211,0.2)", line: { width: 0 },
        hovertemplate: "%{x}: P10 %{y:.1f} units<extra></extra>" },
      { x: fan.day, y: fan.p50, type: "scatter", mode: "lines", name: "P50 forecast",
        line: { color: "#2f5bd3" }, hovertemplate: "%{x}: P50 %{y:.1f} units<extra></extra>" },
    ];
    const layout = {
      title: { text: "Demand at today's price" },
      xaxis: { title: { text: "day" } }, yaxis: { title: { text: "units / day" }, rangemode: "tozero" },
      margin: { t: 40, r: 10 }, height: 320, legend: { orientation: "h" },
    };
    Plotly.newPlot("chart-fan", traces, layout, { displaylogo: false, responsive: true });
  }
  function historyHtml(entries) {
    if (!entries.length) return '<p class="note">No ledger entry for this item yet.</p>';
    const rows = entries.map((e) => "<tr><td>" + esc(e.at) + "</td><td>" + esc(e.kind) + "</td><td>" +
      esc(money(e.previous_price)) + " → " + esc(money(e.price)) + "</td><td>" + esc(e.by) +
      "</td><td>" + esc(e.why || "") + "</td></tr>").join("");
    return '<h3>Ledger</h3><div class="table-wrap"><table class="sortable"><thead><tr><th>Written</th>' +
      "<th>Kind</th><th>Price</th><th>Who</th><th>Why</th></tr></thead><tbody>" + rows + "</tbody></table></div>";
  }
  async function showItem(itemId) {
    const dialog = $("item-dialog");
    dialog.querySelector(".override .error").textContent = "";
    const answer = await fetch("/pricing/items/" + encodeURIComponent(itemId), { headers: { accept: "application/json" } });
    const data = await answer.json();
    if (!answer.ok) {
      $("pricing-status").textContent = data.error;
      return;
    }
    shownItem = itemId;
    const item = data.item;
    $("item-head").innerHTML = "<h2>" + esc(itemId) + " · " + esc(item.category) + "</h2><p>Today " +
      esc(money(item.current_price)) + ", proposed " + esc(money(item.price)) + " (" + esc(percent(item.change)) +
      "), elasticity " + esc(Number(item.elasticity).toFixed(2)) + " [" + esc(Number(item.ci_low).toFixed(2)) +
      ", " + esc(Number(item.ci_high).toFixed(2)) + "], reasons: " + esc((item.reasons || []).join(", ") || "none") + "</p>";
    $("override-price").value = item.price;
    $("item-history").innerHTML = historyHtml(data.history);
    window.storefrontTables.wire($("item-history"));
    dialog.showModal();
    drawCurve(data.curve, item);
    drawFan(data.fan);
  }
  document.querySelectorAll("button.detail").forEach((b) => b.addEventListener("click", () => showItem(b.dataset.item)));
  $("item-close").addEventListener("click", () => $("item-dialog").close());
  $("override").addEventListener("click", async () => {
    const where = $("item-dialog").querySelector(".override .error");
    try {
      const data = await post("/pricing/override", {
        item_id: shownItem, price: Number($("override-price").value), why: $("override-why").value, by: who(),
      });
      done(data.note);
    } catch (error) {
      failed(where, error);
    }
  });

  // -- approve, reject, roll back ---------------------------------------------------
  let approving = null;
  async function confirmApproval(items) {
    const where = $("approve-dialog").querySelector(".error");
    where.textContent = "";
    try {
      const body = { proposal_id: proposalId };
      if (items) body.items = items;
      const diff = await post("/pricing/diff", body);
      const rows = diff.items.map((r) => '<tr data-item="' + esc(r.item_id) + '"><td>' + esc(r.item_id) +
        "</td><td>" + esc(r.category) + '</td><td data-sort="' + esc(r.in_force) + '">' + esc(money(r.in_force)) +
        "</td><td>" + esc(r.in_force_by || "feed") + '</td><td data-sort="' + esc(r.price) + '">' +
        esc(money(r.price)) + '</td><td data-sort="' + esc(r.change) + '">' + esc(percent(r.change)) + "</td></tr>").join("");
      $("approve-diff").innerHTML = "<p>" + diff.items.length + " prices</p>" +
        '<div class="table-wrap"><table class="sortable" id="approve-table"><thead><tr><th>Item</th><th>Category</th>' +
        "<th>In force now</th><th>Set by</th><th>Approved</th><th>Change</th></tr></thead><tbody>" + rows + "</tbody></table></div>";
      window.storefrontTables.wire($("approve-diff"));
      approving = body;
      $("approve-dialog").showModal();
    } catch (error) {
      $("pricing-status").textContent = error.message;
      $("pricing-status").className = "error";
    }
  }
  if (actions) {
    $("approve-all").addEventListener("click", () => confirmApproval(null));
    $("approve-selected").addEventListener("click", () => {
      const picked = Array.from(document.querySelectorAll("input.pick:checked")).map((b) => b.value);
      if (!picked.length) {
        $("pricing-status").textContent = "Select the items to approve first.";
        $("pricing-status").className = "error";
        return;
      }
      confirmApproval(picked);
    });
    $("reject").addEventListener("click", async () => {
      try {
        const data = await post("/pricing/reject", { proposal_id: proposalId, why: $("reject-why").value, by: who() });
        done(data.note);
      } catch (error) {
        $("pricing-status").textContent = error.message;
        $("pricing-status").className = "error";
      }
    });
  }
  $("approve-cancel").addEventListener("click", () => $("approve-dialog").close());
  $("approve-confirm").addEventListener("click", async () => {
    try {
      const data = await post("/pricing/approve", Object.assign({ by: who() }, approving));
      done(data.note);
    } catch (error) {
      failed($("approve-dialog").querySelector(".error"), error);
    }
  });
  $("rollback").addEventListener("click", async () => {
    try {
      const data = await post("/pricing/rollback", { to: $("rollback-to").value, why: $("rollback-why").value, by: who() });
      done(data.note);
    } catch (error) {
      $("pricing-status").textContent = error.message;
      $("pricing-status").className = "error";
    }
  });
});
