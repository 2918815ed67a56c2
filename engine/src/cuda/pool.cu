// Max and average pooling, forward and backward: the CUDA twin of cpu/pool.rs. Padding follows
// PyTorch as on the CPU: padded cells never win a max window, and count as zeros in an average.
// The backward passes are gathers (one thread per input cell summing the windows it belongs
// to), so overlapping windows need no atomics.

struct PoolGeometry {
    u64 planes;  // batch × channels
    u64 in_h;
    u64 in_w;
    u64 kernel;
    u64 stride;
    u64 padding;
    u64 out_h;
    u64 out_w;
};

struct PoolArgs {
    const float* x;   // forward: the input; max backward: the forward input
    const float* dy;  // backward: the output gradient
    float* y;         // forward: the output; backward: the input gradient
    PoolGeometry g;
};

// Input rows (or columns) [*lo, *hi) under output position o, clipped to the image.
__device__ __forceinline__ void window(const PoolGeometry& g, u64 o, u64 len, u64* lo, u64* hi) {
    long long start = (long long)(o * g.stride) - (long long)g.padding;
    long long end = start + (long long)g.kernel;
    *lo = start < 0 ? 0 : (u64)start;
    *hi = end > (long long)len ? len : (end < 0 ? 0 : (u64)end);
}

// Position in the plane of the winner of window (oh, ow): the first maximum in row-major order,
// or the first NaN (so NaNs propagate, as in PyTorch and on the CPU).
__device__ __forceinline__ u64 window_argmax(const float* plane, const PoolGeometry& g, u64 oh, u64 ow) {
    u64 h0, h1, w0, w1;
    window(g, oh, g.in_h, &h0, &h1);
    window(g, ow, g.in_w, &w0, &w1);
    u64 best = h0 * g.in_w + w0;
    float best_value = plane[best];
    if (is_nan(best_value)) return best;
    for (u64 ih = h0; ih < h1; ++ih) {
        for (u64 iw = w0; iw < w1; ++iw) {
            float v = plane[ih * g.in_w + iw];
            if (v > best_value || is_nan(v)) {
                best = ih * g.in_w + iw;
                best_value = v;
                if (is_nan(v)) return best;
            }
        }
    }
    return best;
}

extern "C" __global__ void max_pool2d_forward(const PoolArgs a) {
    const PoolGeometry g = a.g;
    FOR_EACH_INDEX(i, g.planes * g.out_h * g.out_w) {
        u64 plane = i / (g.out_h * g.out_w), at = i % (g.out_h * g.out_w);
        const float* x = a.x + plane * g.in_h * g.in_w;
        a.y[i] = x[window_argmax(x, g, at / g.out_w, at % g.out_w)];
    }
}

// Output rows (or columns) [*lo, *hi) whose window covers input position p.
__device__ __forceinline__ void covering(const PoolGeometry& g, u64 p, u64 out_len, u64* lo, u64* hi) {
    // o covers p when o·stride − padding ≤ p < o·stride − padding + kernel.
    long long shifted = (long long)(p + g.padding);
    long long first = shifted - (long long)g.kernel + 1;
    *lo = first <= 0 ? 0 : (u64)((first + (long long)g.stride - 1) / (long long)g.stride);
    u64 last = (u64)(shifted / (long long)g.stride) + 1;
    *hi = last < out_len ? last : out_len;
}

// Each input cell collects the gradient of every window it won.
extern "C" __global__ void max_pool2d_backward(const PoolArgs a) {
    const PoolGeometry g = a.g;
    FOR_EACH_INDEX(i, g.planes * g.in_h * g.in_w) {
        u64 plane = i / (g.in_h * g.in_w), at = i % (g.in_h * g.in_w);
        const float* x = a.x + plane * g.in_h * g.in_w;
        const float* dy = a.dy + plane * g.out_h * g.out_w;
        u64 h0, h1, w0, w1;
        covering(g, at / g.in_w, g.out_h, &h0, &h1);
        covering(g, at % g.in_w, g.out_w, &w0, &w1);
        float sum = 0.0f;
        for (u64 oh = h0; oh < h1; ++oh) {
            for (u64 ow = w0; ow < w1; ++ow) {
                if (window_argmax(x, g, oh, ow) == at) sum += dy[oh * g.out_w + ow];
            }
        }
        a.y[i] = sum;
    }
}

// The divisor is always kernel²: padding counts (PyTorch's count_include_pad=True).
extern "C" __global__ void avg_pool2d_forward(const PoolArgs a) {
    const PoolGeometry g = a.g;
    float scale = 1.0f / (float)(g.kernel * g.kernel);
    FOR_EACH_INDEX(i, g.planes * g.out_h * g.out_w) {
        u64 plane = i / (g.out_h * g.out_w), at = i % (g.out_h * g.out_w);
        const float* x = a.x + plane * g.in_h * g.in_w;
        u64 h0, h1, w0, w1;
        window(g, at / g.out_w, g.in_h, &h0, &h1);
        window(g, at % g.out_w, g.in_w, &w0, &w1);
        float sum = 0.0f;
        for (u64 ih = h0; ih < h1; ++ih) {
            for (u64 iw = w0; iw < w1; ++iw) sum += x[ih * g.in_w + iw];
        }
        a.y[i] = sum * scale;
    }
}

// Each input cell gets an equal share of every window it lies in.
extern "C" __global__ void avg_pool2d_backward(const PoolArgs a) {
    const PoolGeometry g = a.g;
    float scale = 1.0f / (float)(g.kernel * g.kernel);
    FOR_EACH_INDEX(i, g.planes * g.in_h * g.in_w) {
        u64 plane = i / (g.in_h * g.in_w), at = i % (g.in_h * g.in_w);
        const float* dy = a.dy + plane * g.out_h * g.out_w;
        u64 h0, h1, w0, w1;
        covering(g, at / g.in_w, g.out_h, &h0, &h1);
        covering(g, at % g.in_w, g.out_w, &w0, &w1);
        float sum = 0.0f;
        for (u64 oh = h0; oh < h1; ++oh) {
            for (u64 ow = w0; ow < w1; ++ow) sum += dy[oh * g.out_w + ow] * scale;
        }
        a.y[i] = sum;
    }
}
