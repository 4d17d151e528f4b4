// Splits a stream of int32-length-prefixed frames without quadratic copying: chunks are kept in a
// list and joined only once a whole frame has arrived.
export function frameReader(onFrame) {
  let chunks = [];
  let buffered = 0;
  let need = -1;
  return (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (need < 0) {
        if (buffered < 4) return;
        if (chunks[0].length < 4) chunks = [Buffer.concat(chunks)];
        need = chunks[0].readInt32BE(0) + 4;
      }
      if (buffered < need) return;
      const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
      let o = 0;
      // Every whole frame in `all`.
      while (need >= 0 && all.length - o >= need) {
        onFrame(all.subarray(o + 4, o + need));
        o += need;
        need = all.length - o >= 4 ? all.readInt32BE(o) + 4 : -1;
      }
      const rest = all.subarray(o);
      chunks = rest.length ? [rest] : [];
      buffered = rest.length;
      if (need < 0 || buffered < need) return;
    }
  };
}
