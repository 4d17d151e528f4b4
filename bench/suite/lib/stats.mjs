// Small statistics helpers: percentiles of latency samples, median [min-max] of repetitions.
export function percentiles(samples, ps = [50, 99, 99.9]) {
  const a = Float64Array.from(samples).sort();
  const out = {};
  for (const p of ps) out[`p${p}`] = a.length ? a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)] : NaN;
  return out;
}

export function summarize(values) {
  const a = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (!a.length) return null;
  const mid = a.length >> 1;
  const median = a.length % 2 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
  return { median, min: a[0], max: a[a.length - 1], n: a.length };
}

export function fmtNum(v, unit) {
  if (v == null || !Number.isFinite(v)) return '—';
  if (unit === 'ms') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 'MB/s') return v < 100 ? v.toFixed(1) : v.toFixed(0);
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(0)}k`;
  return v.toFixed(0);
}
