// A dependency-free SVG chart: one small panel per workload, one horizontal bar per system/client
// (the median) with a whisker from min to max over the repetitions.
const COLORS = ['#d9480f', '#868e96', '#c92a2a', '#e599f7', '#1971c2', '#74c0fc', '#2b8a3e', '#ffd43b'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v, unit) {
  if (!Number.isFinite(v)) return '—';
  if (unit === 'ms') return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
  if (unit === 'MB/s') return `${v.toFixed(0)} MB/s`;
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M/s` : `${(v / 1e3).toFixed(0)}k/s`;
}

export function renderSvg({ title, metrics, columns, summary }) {
  const cols = 3;
  const barH = 14;
  const panelW = 400;
  const labelW = 0;
  const panelH = 34 + columns.length * (barH + 4) + 10;
  const legendH = 20 + columns.length * 16;
  const rows = Math.ceil(metrics.length / cols);
  const W = cols * panelW + 20;
  const H = 40 + legendH + rows * panelH;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  columns.forEach((c, i) => {
    const y = 40 + i * 16;
    out.push(`<rect x="10" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="28" y="${y + 10}">${esc(c)}</text>`);
  });
  metrics.forEach((m, k) => {
    const x0 = 10 + (k % cols) * panelW;
    const y0 = 40 + legendH + Math.floor(k / cols) * panelH;
    const vals = columns.map((c) => summary.get(c)?.get(m.key)).filter(Boolean);
    const max = Math.max(1e-9, ...vals.map((s) => s.max));
    const w = panelW - 100 - labelW;
    out.push(`<text x="${x0}" y="${y0 + 14}" font-weight="bold">${esc(m.label)}</text>`);
    out.push(`<text x="${x0}" y="${y0 + 27}" fill="#666">${m.better === 'higher' ? 'higher is better' : 'lower is better'} (${esc(m.unit)})</text>`);
    columns.forEach((c, i) => {
      const s = summary.get(c)?.get(m.key);
      const y = y0 + 34 + i * (barH + 4);
      const color = COLORS[i % COLORS.length];
      if (!s) {
        out.push(`<text x="${x0 + labelW}" y="${y + 11}" fill="#999">not measured</text>`);
        return;
      }
      const bw = (s.median / max) * w;
      out.push(`<rect x="${x0 + labelW}" y="${y}" width="${bw.toFixed(1)}" height="${barH}" fill="${color}"/>`);
      const a = x0 + labelW + (s.min / max) * w;
      const b = x0 + labelW + (s.max / max) * w;
      out.push(`<line x1="${a.toFixed(1)}" x2="${b.toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="black"/>`);
      out.push(`<text x="${(Math.max(bw, b - x0 - labelW) + x0 + labelW + 4).toFixed(1)}" y="${y + 11}">${esc(fmt(s.median, m.unit))}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
