#include "serve/web_page.hpp"

namespace nmt {

const std::string& web_page() {
  static const std::string page = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>nmt</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 60rem; line-height: 1.4; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  .pair { display: flex; flex-wrap: wrap; gap: 1rem; }
  .pair > div { flex: 1 1 20rem; min-width: 0; }
  textarea, output { box-sizing: border-box; width: 100%; min-height: 8rem; font: inherit; padding: .5rem;
                     border: 1px solid #888; border-radius: 4px; display: block; white-space: pre-wrap; }
  .controls { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: .75rem 0; }
  button { font: inherit; padding: .4rem 1.2rem; }
  button:focus, textarea:focus, select:focus, input:focus { outline: 3px solid #36c; outline-offset: 1px; }
  #error { color: #a00; font-weight: bold; }
  #alternatives li { margin: .2rem 0; }
  .score { color: #555; font-variant-numeric: tabular-nums; }
  #heatmap { overflow-x: auto; }
  #heatmap table { border-collapse: collapse; font-size: .8rem; }
  #heatmap th { font-weight: normal; padding: 2px 4px; white-space: nowrap; }
  #heatmap thead th { writing-mode: vertical-rl; transform: rotate(180deg); }
  #heatmap td { width: 1.4rem; height: 1.4rem; border: 1px solid #eee; }
</style>
</head>
<body>
<h1>nmt: <span id="languages">translation</span></h1>
<form id="form">
  <div class="pair">
    <div>
      <label for="source">Text (one sentence per line)</label>
      <textarea id="source" name="q" required autofocus></textarea>
    </div>
    <div>
      <label for="translation">Translation</label>
      <output id="translation" for="source" aria-live="polite"></output>
    </div>
  </div>
  <div class="controls">
    <button type="submit" id="translate">Translate</button>
    <label for="alternatives-count">Alternatives</label>
    <select id="alternatives-count">
      <option value="0">none</option><option value="1">1</option><option value="2">2</option><option value="3">3</option>
    </select>
    <label><input type="checkbox" id="show-attention"> attention heatmap</label>
    <span id="time" aria-live="polite"></span>
  </div>
</form>
<p id="error" role="alert"></p>
<section id="alternatives-section" hidden>
  <h2>Alternatives</h2>
  <ol id="alternatives"></ol>
</section>
<section id="heatmap-section" hidden>
  <h2>Attention (first line)</h2>
  <div id="heatmap"></div>
</section>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let target = null, source = null;

fetch("/languages").then((r) => r.json()).then((languages) => {
  source = languages[0].code;
  target = languages[0].targets[0];
  $("languages").textContent = languages[0].name + " to " + target;
}).catch(() => { $("error").textContent = "The server does not answer /languages."; });

function heatmap(detail) {
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  head.appendChild(document.createElement("th"));
  for (const token of detail.source_tokens) {
    const th = document.createElement("th");
    th.textContent = token;
    head.appendChild(th);
  }
  const body = table.createTBody();
  detail.tokens.forEach((token, t) => {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.textContent = token;
    row.appendChild(th);
    (detail.attention[t] || []).slice(0, detail.source_tokens.length).forEach((weight) => {
      const cell = row.insertCell();
      cell.style.background = "rgba(30, 80, 200, " + weight.toFixed(3) + ")";
      cell.title = weight.toFixed(3);
    });
  });
  return table;
}

$("source").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
});

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("source").value;
  const alternatives = Number($("alternatives-count").value);
  const details = alternatives > 0 || $("show-attention").checked;
  $("error").textContent = "";
  $("translate").disabled = true;
  const started = performance.now();
  try {
    const response = await fetch("/translate", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({q: text, source: source || "auto", target: target, format: "text", alternatives, details}),
    });
    const answer = await response.json();
    $("time").textContent = ((performance.now() - started) / 1000).toFixed(3) + " s";
    if (!response.ok) {
      $("error").textContent = "Error " + response.status + ": " + (answer.error || "unknown");
      return;
    }
    $("translation").textContent = answer.translatedText;
    const list = $("alternatives");
    list.replaceChildren();
    if (alternatives > 0 && answer.details) {
      const scores = answer.details[0] ? answer.details[0].scores : [];
      [answer.translatedText].concat(answer.alternatives).forEach((candidate, k) => {
        const item = document.createElement("li");
        item.textContent = candidate + " ";
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = scores[k] !== undefined ? "(" + scores[k].toFixed(3) + ")" : "";
        item.appendChild(score);
        list.appendChild(item);
      });
    }
    $("alternatives-section").hidden = !(alternatives > 0);
    const map = $("heatmap");
    map.replaceChildren();
    const first = answer.details && answer.details[0];
    const show = $("show-attention").checked && first && first.attention.length > 0;
    if (show) map.appendChild(heatmap(first));
    $("heatmap-section").hidden = !show;
  } catch (error) {
    $("error").textContent = "The request failed: " + error.message;
  } finally {
    $("translate").disabled = false;
  }
});
</script>
</body>
</html>
)HTML";
  return page;
}

}  // namespace nmt
