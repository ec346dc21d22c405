/**
 * The JavaScript that runs inside the latent explorer page, kept as source text so the page
 * is self-contained (no network, no bundler). Plain ES2017, no dependencies.
 *
 * `DECODER_RUNTIME` defines `aelabDecoder(spec, weights)`: a forward pass of a decoder
 * exported by `exportDecoder` (explorer.ts) for one latent vector at a time, on NHWC
 * (height, width, channel) Float32Arrays, the layout tfjs uses. It has no DOM access, so
 * the tests also run it in Node against tfjs.
 *
 * `UI_RUNTIME` wires the page: clicks (and drags) on the scatter plot decode that point and
 * draw the result; `window.aelabExplorer` exposes the state for tests and for curious users.
 */

/** Source of `function aelabDecoder(spec, weights) -> { decode(z: ArrayLike<number>): Float32Array }`. */
export const DECODER_RUNTIME = String.raw`
function aelabDecoder(spec, weights) {
  'use strict';
  function w(ref) { return weights.subarray(ref[0], ref[0] + ref[1]); }
  function act(name, x, alpha, maxValue) {
    var i, v, n = x.length;
    switch (name) {
      case 'linear': case 'none': case undefined: case null: return x;
      case 'relu':
        for (i = 0; i < n; i++) { v = x[i] > 0 ? x[i] : 0; x[i] = maxValue != null && v > maxValue ? maxValue : v; }
        return x;
      case 'relu6': for (i = 0; i < n; i++) x[i] = Math.min(Math.max(x[i], 0), 6); return x;
      case 'leakyRelu':
        if (alpha == null) alpha = 0.3;
        for (i = 0; i < n; i++) if (x[i] < 0) x[i] *= alpha;
        return x;
      case 'elu':
        if (alpha == null) alpha = 1;
        for (i = 0; i < n; i++) if (x[i] < 0) x[i] = alpha * (Math.exp(x[i]) - 1);
        return x;
      case 'selu':
        for (i = 0; i < n; i++) x[i] = 1.0507009873554805 * (x[i] > 0 ? x[i] : 1.6732632423543772 * (Math.exp(x[i]) - 1));
        return x;
      case 'sigmoid': for (i = 0; i < n; i++) x[i] = 1 / (1 + Math.exp(-x[i])); return x;
      case 'hardSigmoid': for (i = 0; i < n; i++) x[i] = Math.min(1, Math.max(0, 0.2 * x[i] + 0.5)); return x;
      case 'tanh': for (i = 0; i < n; i++) x[i] = Math.tanh(x[i]); return x;
      case 'softplus': for (i = 0; i < n; i++) x[i] = Math.log(1 + Math.exp(x[i])); return x;
      case 'softsign': for (i = 0; i < n; i++) x[i] = x[i] / (1 + Math.abs(x[i])); return x;
      case 'swish': for (i = 0; i < n; i++) x[i] = x[i] / (1 + Math.exp(-x[i])); return x;
      default: throw new Error('aelab explorer: unsupported activation ' + name);
    }
  }
  function dense(op, x) {
    var n = op.inShape[op.inShape.length - 1], m = op.units, rows = x.length / n;
    var k = w(op.kernel), b = op.bias ? w(op.bias) : null, y = new Float32Array(rows * m);
    for (var r = 0; r < rows; r++) {
      var acc = new Float64Array(m);
      if (b) for (var j = 0; j < m; j++) acc[j] = b[j];
      for (var i = 0; i < n; i++) {
        var xi = x[r * n + i];
        if (xi === 0) continue;
        var base = i * m;
        for (j = 0; j < m; j++) acc[j] += xi * k[base + j];
      }
      y.set(acc, r * m);
    }
    return act(op.activation, y, op.alpha, null);
  }
  function conv2d(op, x) {
    var H = op.inShape[0], W = op.inShape[1], C = op.inShape[2];
    var OH = op.outShape[0], OW = op.outShape[1], F = op.outShape[2];
    var kh = op.kernelSize[0], kw = op.kernelSize[1], sh = op.strides[0], sw = op.strides[1];
    var dh = op.dilation[0], dw = op.dilation[1], pt = op.pad[0], pl = op.pad[1];
    var k = w(op.kernel), b = op.bias ? w(op.bias) : null, y = new Float32Array(OH * OW * F), acc = new Float64Array(F);
    for (var oy = 0; oy < OH; oy++) for (var ox = 0; ox < OW; ox++) {
      for (var f = 0; f < F; f++) acc[f] = b ? b[f] : 0;
      for (var ky = 0; ky < kh; ky++) {
        var iy = oy * sh - pt + ky * dh;
        if (iy < 0 || iy >= H) continue;
        for (var kx = 0; kx < kw; kx++) {
          var ix = ox * sw - pl + kx * dw;
          if (ix < 0 || ix >= W) continue;
          var xb = (iy * W + ix) * C, kb = (ky * kw + kx) * C * F;
          for (var c = 0; c < C; c++) {
            var xv = x[xb + c];
            if (xv === 0) continue;
            var kc = kb + c * F;
            for (f = 0; f < F; f++) acc[f] += xv * k[kc + f];
          }
        }
      }
      y.set(acc, (oy * OW + ox) * F);
    }
    return act(op.activation, y, op.alpha, null);
  }
  function conv2dTranspose(op, x) {
    var H = op.inShape[0], W = op.inShape[1], C = op.inShape[2];
    var OH = op.outShape[0], OW = op.outShape[1], F = op.outShape[2];
    var kh = op.kernelSize[0], kw = op.kernelSize[1], sh = op.strides[0], sw = op.strides[1];
    var pt = op.pad[0], pl = op.pad[1];
    var k = w(op.kernel), b = op.bias ? w(op.bias) : null, acc = new Float64Array(OH * OW * F);
    for (var iy = 0; iy < H; iy++) for (var ix = 0; ix < W; ix++) {
      var xb = (iy * W + ix) * C;
      for (var ky = 0; ky < kh; ky++) {
        var oy = iy * sh + ky - pt;
        if (oy < 0 || oy >= OH) continue;
        for (var kx = 0; kx < kw; kx++) {
          var ox = ix * sw + kx - pl;
          if (ox < 0 || ox >= OW) continue;
          var ob = (oy * OW + ox) * F, kb = (ky * kw + kx) * F * C;
          for (var f = 0; f < F; f++) {
            var s = 0, kf = kb + f * C;
            for (var c = 0; c < C; c++) s += x[xb + c] * k[kf + c];
            acc[ob + f] += s;
          }
        }
      }
    }
    if (b) for (var i = 0; i < acc.length; i++) acc[i] += b[i % F];
    return act(op.activation, Float32Array.from(acc), op.alpha, null);
  }
  function affine(op, x) {
    var a = w(op.scale), c = w(op.shift), C = a.length;
    for (var i = 0; i < x.length; i++) x[i] = x[i] * a[i % C] + c[i % C];
    return x;
  }
  function crop(op, x) {
    var W = op.inShape[1], C = op.inShape[2], OH = op.outShape[0], OW = op.outShape[1];
    var y = new Float32Array(OH * OW * C);
    for (var r = 0; r < OH; r++) for (var q = 0; q < OW; q++) for (var c = 0; c < C; c++)
      y[(r * OW + q) * C + c] = x[((r + op.offset[0]) * W + q + op.offset[1]) * C + c];
    return y;
  }
  function pad(op, x) {
    var H = op.inShape[0], W = op.inShape[1], C = op.inShape[2], OW = op.outShape[1];
    var y = new Float32Array(op.outShape[0] * OW * C);
    for (var r = 0; r < H; r++) for (var q = 0; q < W; q++) for (var c = 0; c < C; c++)
      y[((r + op.offset[0]) * OW + q + op.offset[1]) * C + c] = x[(r * W + q) * C + c];
    return y;
  }
  function resize(op, x) {
    var H = op.inShape[0], W = op.inShape[1], C = op.inShape[2], OH = op.outShape[0], OW = op.outShape[1];
    var y = new Float32Array(OH * OW * C);
    var ry = op.alignCorners && OH > 1 ? (H - 1) / (OH - 1) : H / OH;
    var rx = op.alignCorners && OW > 1 ? (W - 1) / (OW - 1) : W / OW;
    for (var r = 0; r < OH; r++) for (var q = 0; q < OW; q++) {
      var sy = op.halfPixel ? (r + 0.5) * ry - 0.5 : r * ry, sx = op.halfPixel ? (q + 0.5) * rx - 0.5 : q * rx;
      var o = (r * OW + q) * C, c;
      if (op.method === 'nearest') {
        var ny = Math.min(H - 1, op.alignCorners ? Math.round(sy) : Math.floor(op.halfPixel ? sy + 0.5 : sy));
        var nx = Math.min(W - 1, op.alignCorners ? Math.round(sx) : Math.floor(op.halfPixel ? sx + 0.5 : sx));
        for (c = 0; c < C; c++) y[o + c] = x[(ny * W + nx) * C + c];
      } else {
        sy = Math.max(0, sy); sx = Math.max(0, sx);
        var y0 = Math.floor(sy), x0 = Math.floor(sx), y1 = Math.min(y0 + 1, H - 1), x1 = Math.min(x0 + 1, W - 1);
        var fy = sy - y0, fx = sx - x0;
        for (c = 0; c < C; c++) {
          var tl = x[(y0 * W + x0) * C + c], tr = x[(y0 * W + x1) * C + c];
          var bl = x[(y1 * W + x0) * C + c], br = x[(y1 * W + x1) * C + c];
          var top = tl + (tr - tl) * fx, bot = bl + (br - bl) * fx;
          y[o + c] = top + (bot - top) * fy;
        }
      }
    }
    return y;
  }
  function run(op, x) {
    switch (op.type) {
      case 'dense': return dense(op, x);
      case 'conv2d': return conv2d(op, x);
      case 'conv2dTranspose': return conv2dTranspose(op, x);
      case 'activation': return act(op.activation, x, op.alpha, op.maxValue);
      case 'affine': return affine(op, x);
      case 'crop': return crop(op, x);
      case 'pad': return pad(op, x);
      case 'resize': return resize(op, x);
      case 'identity': return x;
      default: throw new Error('aelab explorer: unsupported op ' + op.type);
    }
  }
  var latentSize = spec.latentShape.reduce(function (a, b) { return a * b; }, 1);
  return {
    latentSize: latentSize,
    decode: function (z) {
      if (z.length !== latentSize) throw new Error('aelab explorer: latent of length ' + z.length + ', expected ' + latentSize);
      var x = Float32Array.from(z);
      for (var i = 0; i < spec.ops.length; i++) x = run(spec.ops[i], x);
      return act(spec.outputActivation, x, 0, null);
    },
  };
}
`;

/**
 * Source of the page script. Reads the JSON in `#aelab-explorer-data` and the weights in
 * `#aelab-explorer-weights` (base64 float32, little-endian), and needs `DECODER_RUNTIME`
 * before it.
 */
export const UI_RUNTIME = String.raw`
(function () {
  'use strict';
  var api = window.aelabExplorer = { ready: false, last: null, errors: [] };
  try {
    var data = JSON.parse(document.getElementById('aelab-explorer-data').textContent);
    var b64 = document.getElementById('aelab-explorer-weights').textContent.replace(/\s+/g, '');
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var weights = new Float32Array(bytes.buffer);
    var decoder = aelabDecoder(data.decoder, weights);
    var plane = data.plane, view = data.view, out = data.output;
    var svg = document.getElementById('aelab-plot');
    var marker = document.getElementById('aelab-marker');
    var canvas = document.getElementById('aelab-decoded');
    var coords = document.getElementById('aelab-coords');
    var ctx = canvas.getContext('2d');

    /** The latent vector of plot point (u, v): mean + u * axis1 + v * axis2. */
    function latentAt(u, v) {
      var z = new Float64Array(plane.mean.length);
      for (var j = 0; j < z.length; j++) z[j] = plane.mean[j] + u * plane.axis1[j] + (plane.axis2 ? v * plane.axis2[j] : 0);
      return z;
    }
    function toByte(v) {
      if (out.range === 'tanh') v = (v + 1) / 2;
      return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
    }
    function draw(pixels) {
      if (out.kind === 'image') {
        var img = ctx.createImageData(out.width, out.height), n = out.width * out.height, c = out.channels;
        for (var p = 0; p < n; p++) {
          var r = toByte(pixels[p * c]);
          img.data[4 * p] = r;
          img.data[4 * p + 1] = c === 3 ? toByte(pixels[p * c + 1]) : r;
          img.data[4 * p + 2] = c === 3 ? toByte(pixels[p * c + 2]) : r;
          img.data[4 * p + 3] = 255;
        }
        ctx.putImageData(img, 0, 0);
      } else {
        var W = canvas.width, H = canvas.height, m = pixels.length, lim = 3;
        for (var q = 0; q < m; q++) lim = Math.max(lim, Math.abs(pixels[q]));
        ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
        ctx.fillStyle = '#bbb'; ctx.fillRect(0, H / 2, W, 1);
        var bw = W / m;
        for (q = 0; q < m; q++) {
          var h = (pixels[q] / lim) * (H / 2 - 4);
          ctx.fillStyle = pixels[q] >= 0 ? '#4e79a7' : '#e15759';
          ctx.fillRect(q * bw + 1, h >= 0 ? H / 2 - h : H / 2, Math.max(1, bw - 2), Math.abs(h));
        }
      }
    }
    function short(label) { return label.replace(/ \(.*\)$/, ''); }
    function fmt(v) { return (Math.abs(v) < 1e-3 && v !== 0) || Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toFixed(3); }

    /** Decodes plot point (u, v) (data coordinates), draws it and records it in api.last. */
    function decodeAt(u, v) {
      var z = latentAt(u, v);
      var pixels = decoder.decode(z);
      draw(pixels);
      var px = view.left + ((u - view.u0) / (view.u1 - view.u0)) * view.width;
      var py = view.top + (1 - (v - view.v0) / (view.v1 - view.v0)) * view.height;
      marker.setAttribute('transform', 'translate(' + px.toFixed(2) + ',' + py.toFixed(2) + ')');
      marker.style.display = '';
      coords.textContent = short(plane.labels[0]) + ' = ' + fmt(u) + (plane.axis2 ? ', ' + short(plane.labels[1]) + ' = ' + fmt(v) : '');
      api.last = { u: u, v: v, latent: Array.from(z), pixels: Array.from(pixels) };
      canvas.setAttribute('data-u', String(u));
      canvas.setAttribute('data-v', String(v));
      return api.last;
    }
    function eventPoint(ev) {
      var rect = svg.getBoundingClientRect();
      var sx = (ev.clientX - rect.left) * (view.svgWidth / rect.width);
      var sy = (ev.clientY - rect.top) * (view.svgHeight / rect.height);
      sx = Math.min(Math.max(sx, view.left), view.left + view.width);
      sy = Math.min(Math.max(sy, view.top), view.top + view.height);
      var u = view.u0 + ((sx - view.left) / view.width) * (view.u1 - view.u0);
      var v = view.v0 + (1 - (sy - view.top) / view.height) * (view.v1 - view.v0);
      return [u, v];
    }
    var dragging = false, pending = null;
    function schedule(p) {
      if (pending) { pending = p; return; }
      pending = p;
      requestAnimationFrame(function () { var q = pending; pending = null; decodeAt(q[0], q[1]); });
    }
    svg.addEventListener('pointerdown', function (ev) {
      dragging = true;
      try { svg.setPointerCapture(ev.pointerId); } catch (e) { /* not capturable */ }
      var p = eventPoint(ev);
      decodeAt(p[0], p[1]);
      ev.preventDefault();
    });
    svg.addEventListener('pointermove', function (ev) { if (dragging) schedule(eventPoint(ev)); });
    svg.addEventListener('pointerup', function () { dragging = false; });
    svg.addEventListener('pointercancel', function () { dragging = false; });

    api.decodeLatent = function (z) { return Array.from(decoder.decode(z)); };
    api.decodeAt = decodeAt;
    api.latentAt = function (u, v) { return Array.from(latentAt(u, v)); };
    api.view = view;
    api.plane = plane;
    decodeAt(data.start[0], data.start[1]);
    api.ready = true;
  } catch (err) {
    api.errors.push(String(err && err.stack || err));
    var box = document.getElementById('aelab-coords');
    if (box) box.textContent = 'error: ' + err;
    throw err;
  }
})();
`;
