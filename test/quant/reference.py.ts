// Reference quantizers in numpy, ported from ggml's quantize_row_q8_0_ref, quantize_row_q4_0_ref,
// quantize_row_q4_1_ref, quantize_row_q5_0_ref, quantize_row_q4_K_ref and quantize_row_q6_K_ref
// (ggml/src/ggml-quants.c).
// Every operation is float32, in ggml's order; running sums are sequential (np.add.accumulate),
// as the C loops are.
// Input on stdin: "<kind>\n" then little-endian float32 values. Output: the quantized bytes.
// Kinds dq4_1 / dq5_0 / dq6_k (dequantize_row_q4_1 / _q5_0 / _q6_K) take quantized bytes and
// output float32 values.
export const REFERENCE_QUANTIZERS = String.raw`
import sys
import numpy as np
F = np.float32

def fp16_bytes(v):
    return np.array([v], dtype=np.float32).astype(np.float16).tobytes()

def roundf(v):  # C roundf: half away from zero
    v = np.asarray(v, dtype=np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)

def nearest_int(v):  # ggml nearest_int: ties to even
    return np.rint(np.asarray(v, dtype=np.float32)).astype(np.int64)

def seqsum(a):
    a = np.asarray(a, dtype=np.float32)
    return np.add.accumulate(a, dtype=np.float32)[-1]

def q8_0(x):
    out = bytearray()
    for b in x.reshape(-1, 32):
        amax = np.max(np.abs(b))
        d = F(amax / F(127))
        idv = F(F(1) / d) if d != 0 else F(0)
        out += fp16_bytes(d)
        out += roundf((b * idv).astype(np.float32)).astype(np.int8).tobytes()
    return bytes(out)

def q4_0(x):
    out = bytearray()
    for b in x.reshape(-1, 32):
        i = int(np.argmax(np.abs(b)))  # first index of the largest magnitude, like the strict < loop
        mx = b[i] if np.abs(b[i]) > 0 else F(0)
        d = F(mx / F(-8))
        idv = F(F(1) / d) if d != 0 else F(0)
        out += fp16_bytes(d)
        q = np.minimum(15, np.trunc(((b * idv).astype(np.float32) + F(8.5)).astype(np.float32))).astype(np.uint8)
        out += (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()
    return bytes(out)

def q4_1(x):
    out = bytearray()
    for b in x.reshape(-1, 32):
        mn = F(np.finfo(np.float32).max); mx = F(-np.finfo(np.float32).max)
        for v in b:  # the C loop: strict comparisons from +-FLT_MAX
            if v < mn: mn = v
            if v > mx: mx = v
        d = F(F(mx - mn) / F(15))
        idv = F(F(1) / d) if d != 0 else F(0)
        out += fp16_bytes(d) + fp16_bytes(mn)
        q = np.minimum(15, np.trunc((((b - mn).astype(np.float32) * idv).astype(np.float32) + F(0.5)).astype(np.float32))).astype(np.uint8)
        out += (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()
    return bytes(out)

def q5_0(x):
    out = bytearray()
    for b in x.reshape(-1, 32):
        i = int(np.argmax(np.abs(b)))
        mx = b[i] if np.abs(b[i]) > 0 else F(0)
        d = F(mx / F(-16))
        idv = F(F(1) / d) if d != 0 else F(0)
        out += fp16_bytes(d)
        q = np.minimum(31, np.trunc(((b * idv).astype(np.float32) + F(16.5)).astype(np.float32))).astype(np.uint32)
        qh = int(np.sum((q >> 4) << np.arange(32, dtype=np.uint32)))
        out += qh.to_bytes(4, "little")
        out += ((q[:16] & 15) | ((q[16:] & 15) << 4)).astype(np.uint8).tobytes()
    return bytes(out)

GROUP_MAX_EPS = F(1e-15)

def make_qx(x, nmax):  # make_qx_quants with rmse_type 1 (weights x*x), no importance weights
    i = int(np.argmax(np.abs(x)))
    amax = np.abs(x[i]); mx = x[i]
    if amax < GROUP_MAX_EPS:
        return F(0), np.zeros(len(x), dtype=np.int64)
    w = (x * x).astype(np.float32)
    def grid(iscale):
        l = np.clip(nearest_int((iscale * x).astype(np.float32)), -nmax, nmax - 1)
        lf = l.astype(np.float32)
        sumlx = seqsum(((w * x).astype(np.float32) * lf).astype(np.float32))
        suml2 = seqsum(((w * lf).astype(np.float32) * lf).astype(np.float32))
        return l, sumlx, suml2
    iscale = F(F(-nmax) / mx)
    l, sumlx, suml2 = grid(iscale)
    L = l + nmax
    scale = F(sumlx / suml2) if suml2 != 0 else F(0)
    best = F(scale * sumlx)
    for s in range(-9, 10):
        if s == 0:
            continue
        iscale = F(F(-F(F(nmax) + F(F(0.1) * F(s)))) / mx)
        l, sumlx, suml2 = grid(iscale)
        if suml2 > 0 and F(sumlx * sumlx) > F(best * suml2):
            L = l + nmax
            scale = F(sumlx / suml2)
            best = F(scale * sumlx)
    return scale, L

def q6_k(x):
    out = bytearray()
    for b in x.reshape(-1, 256):
        L = np.zeros(256, np.int64); scales = np.zeros(16, np.float32)
        max_scale = F(0); max_abs = F(0)
        for j in range(16):
            scales[j], L[16*j:16*j+16] = make_qx(b[16*j:16*j+16], 32)
            if abs(scales[j]) > max_abs:
                max_abs = F(abs(scales[j])); max_scale = scales[j]
        if max_abs < GROUP_MAX_EPS:
            out += bytes(210)
            continue
        iscale = F(F(-128) / max_scale)
        dh = np.array([F(F(1) / iscale)], np.float32).astype(np.float16)
        d = F(dh[0])
        sc = [min(127, int(nearest_int(F(iscale * scales[j])))) for j in range(16)]
        for j in range(16):
            dj = F(d * F(sc[j]))
            if dj == 0:
                continue
            L[16*j:16*j+16] = np.clip(nearest_int((b[16*j:16*j+16] / dj).astype(np.float32)), -32, 31) + 32
        ql = bytearray(128); qh = bytearray(64)
        for h in range(2):
            v = 128 * h
            for l in range(32):
                ql[64*h + l] = int((L[v + l] & 15) | ((L[v + l + 64] & 15) << 4))
                ql[64*h + l + 32] = int((L[v + l + 32] & 15) | ((L[v + l + 96] & 15) << 4))
                qh[32*h + l] = int((L[v + l] >> 4) | ((L[v + l + 32] >> 4) << 2) | ((L[v + l + 64] >> 4) << 4) | ((L[v + l + 96] >> 4) << 6))
        out += bytes(ql) + bytes(qh) + np.array(sc, np.int8).tobytes() + dh.tobytes()
    return bytes(out)

def make_qkx2(x, w, nmax, rmin, rdelta, nstep):
    n = len(x)
    mn = min(F(0), F(np.min(x)))
    mx = F(np.max(x))
    sum_w = seqsum(w)
    sum_x = seqsum((w * x).astype(np.float32))
    if mx == mn:
        return F(0), F(-mn), np.zeros(n, dtype=np.int64)
    iscale = F(F(nmax) / F(mx - mn))
    scale = F(F(1) / iscale)
    L = np.clip(nearest_int(iscale * (x - mn).astype(np.float32)), 0, nmax)
    diff = ((F(scale) * L.astype(np.float32)).astype(np.float32) + mn).astype(np.float32) - x
    best = seqsum(w * (diff * diff).astype(np.float32))
    for s in range(nstep + 1):
        iscale = F(F(F(rmin + F(rdelta * F(s))) + F(nmax)) / F(mx - mn))
        La = np.clip(nearest_int(iscale * (x - mn).astype(np.float32)), 0, nmax)
        Lf = La.astype(np.float32)
        wl = (w * Lf).astype(np.float32)
        sum_l = seqsum(wl)
        sum_l2 = seqsum(wl * Lf)
        sum_xl = seqsum(wl * x)
        D = F(F(sum_w * sum_l2) - F(sum_l * sum_l))
        if D > 0:
            this_scale = F(F(F(sum_w * sum_xl) - F(sum_x * sum_l)) / D)
            this_min = F(F(F(sum_l2 * sum_x) - F(sum_l * sum_xl)) / D)
            if this_min > 0:
                this_min = F(0)
                this_scale = F(sum_xl / sum_l2)
            diff = ((this_scale * Lf).astype(np.float32) + this_min).astype(np.float32) - x
            err = seqsum(w * (diff * diff).astype(np.float32))
            if err < best:
                L, best, scale, mn = La, err, this_scale, this_min
    return scale, F(-mn), L

def q4_k(x):
    out = bytearray()
    for b in x.reshape(-1, 256):
        scales = np.zeros(8, np.float32); mins = np.zeros(8, np.float32); L = np.zeros(256, np.int64)
        for j in range(8):
            xs = b[32*j:32*j+32]
            av = F(np.sqrt(F(seqsum(xs * xs) / F(32))))
            w = (av + np.abs(xs)).astype(np.float32)
            scales[j], mins[j], L[32*j:32*j+32] = make_qkx2(xs, w, 15, F(-1), F(0.1), 20)
        max_scale = max(F(0), F(np.max(scales))); max_min = max(F(0), F(np.max(mins)))
        inv_s = F(F(63) / max_scale) if max_scale > 0 else F(0)
        inv_m = F(F(63) / max_min) if max_min > 0 else F(0)
        sc = bytearray(12)
        for j in range(8):
            ls = min(63, int(nearest_int(F(inv_s * scales[j]))) & 0xff)
            lm = min(63, int(nearest_int(F(inv_m * mins[j]))) & 0xff)
            if j < 4:
                sc[j] = ls; sc[j + 4] = lm
            else:
                sc[j + 4] = (ls & 15) | ((lm & 15) << 4)
                sc[j - 4] |= (ls >> 4) << 6
                sc[j] |= (lm >> 4) << 6
        dh = np.array([F(max_scale / F(63))], np.float32).astype(np.float16)
        mh = np.array([F(max_min / F(63))], np.float32).astype(np.float16)
        d = F(dh[0]); dmin = F(mh[0])
        for j in range(8):
            if j < 4:
                s, m = sc[j] & 63, sc[j + 4] & 63
            else:
                s = (sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4)
                m = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4)
            dj = F(d * F(s))
            if dj == 0:
                continue
            dm = F(dmin * F(m))
            L[32*j:32*j+32] = np.clip(nearest_int(((b[32*j:32*j+32] + dm).astype(np.float32) / dj).astype(np.float32)), 0, 15)
        out += dh.tobytes() + mh.tobytes() + bytes(sc)
        for p in range(4):
            out += (L[64*p:64*p+32] | (L[64*p+32:64*p+64] << 4)).astype(np.uint8).tobytes()
    return bytes(out)

def dq4_1(raw):  # dequantize_row_q4_1
    out = []
    for o in range(0, len(raw), 20):
        d = F(np.frombuffer(raw[o:o+2], dtype="<f2")[0])
        m = F(np.frombuffer(raw[o+2:o+4], dtype="<f2")[0])
        qs = np.frombuffer(raw[o+4:o+20], dtype=np.uint8).astype(np.int64)
        q = np.concatenate([qs & 15, qs >> 4]).astype(np.float32)
        out.append(((q * d).astype(np.float32) + m).astype(np.float32))
    return np.concatenate(out).astype("<f4").tobytes()

def dq5_0(raw):  # dequantize_row_q5_0
    out = []
    for o in range(0, len(raw), 22):
        d = F(np.frombuffer(raw[o:o+2], dtype="<f2")[0])
        qh = int.from_bytes(raw[o+2:o+6], "little")
        qs = np.frombuffer(raw[o+6:o+22], dtype=np.uint8).astype(np.int64)
        hi = np.array([(qh >> j) & 1 for j in range(32)], dtype=np.int64) << 4
        q = np.concatenate([qs & 15, qs >> 4]) | hi
        out.append((d * (q - 16).astype(np.float32)).astype(np.float32))
    return np.concatenate(out).astype("<f4").tobytes()

def dq6_k(raw):  # dequantize_row_q6_K
    out = []
    for o in range(0, len(raw), 210):
        ql = np.frombuffer(raw[o:o+128], dtype=np.uint8).astype(np.int64)
        qh = np.frombuffer(raw[o+128:o+192], dtype=np.uint8).astype(np.int64)
        sc = np.frombuffer(raw[o+192:o+208], dtype=np.int8).astype(np.float32)
        d = F(np.frombuffer(raw[o+208:o+210], dtype="<f2")[0])
        y = np.zeros(256, np.float32)
        for h in range(2):
            a, c, hb = ql[64*h:64*h+32], ql[64*h+32:64*h+64], qh[32*h:32*h+32]
            parts = [(a & 15) | ((hb & 3) << 4), (c & 15) | (((hb >> 2) & 3) << 4), (a >> 4) | (((hb >> 4) & 3) << 4), (c >> 4) | (((hb >> 6) & 3) << 4)]
            for k in range(4):
                for half in range(2):
                    i = 128*h + 32*k + 16*half
                    y[i:i+16] = (F(d * sc[i // 16]) * (parts[k][16*half:16*half+16] - 32).astype(np.float32)).astype(np.float32)
        out.append(y)
    return np.concatenate(out).astype("<f4").tobytes()

data = sys.stdin.buffer.read()
nl = data.index(b"\n")
kind = data[:nl].decode()
with np.errstate(all="ignore"):
    if kind.startswith("dq"):
        sys.stdout.buffer.write({"dq4_1": dq4_1, "dq5_0": dq5_0, "dq6_k": dq6_k}[kind](data[nl + 1:]))
        sys.exit(0)
    x = np.frombuffer(data[nl + 1:], dtype="<f4").astype(np.float32)
    sys.stdout.buffer.write({"q8_0": q8_0, "q4_0": q4_0, "q4_1": q4_1, "q5_0": q5_0, "q4_k": q4_k, "q6_k": q6_k}[kind](x))
`;
