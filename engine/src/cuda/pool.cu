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

// Every kernel comes in two widths (see BOTH_WIDTHS in the prelude): index arithmetic in I = u32
// (S = int) when every index of the launch fits, in u64 (long long) beyond. The geometry is
// read once into a Shape of that width.
template <typename I>
struct Shape {
    I in_h, in_w, kernel, stride, padding, out_h, out_w;
};

template <typename I>
__device__ __forceinline__ Shape<I> shape_of(const PoolGeometry& g) {
    return {(I)g.in_h, (I)g.in_w, (I)g.kernel, (I)g.stride, (I)g.padding, (I)g.out_h, (I)g.out_w};
}

// Input rows (or columns) [*lo, *hi) under output position o, clipped to the image.
template <typename I, typename S>
__device__ __forceinline__ void window(const Shape<I>& g, I o, I len, I* lo, I* hi) {
    S start = (S)(o * g.stride) - (S)g.padding;
    S end = start + (S)g.kernel;
    *lo = start < 0 ? 0 : (I)start;
    *hi = end > (S)len ? len : (end < 0 ? 0 : (I)end);
}

// Position in the plane of the winner of window (oh, ow): the first maximum in row-major order,
// or the first NaN (so NaNs propagate, as in PyTorch and on the CPU).
template <typename I, typename S>
__device__ __forceinline__ I window_argmax(const float* plane, const Shape<I>& g, I oh, I ow) {
    I h0, h1, w0, w1;
    window<I, S>(g, oh, g.in_h, &h0, &h1);
    window<I, S>(g, ow, g.in_w, &w0, &w1);
    I best = h0 * g.in_w + w0;
    float best_value = plane[best];
    if (is_nan(best_value)) return best;
    for (I ih = h0; ih < h1; ++ih) {
        for (I iw = w0; iw < w1; ++iw) {
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

template <typename I, typename S>
__device__ void max_pool2d_forward(const PoolArgs& a) {
    const Shape<I> g = shape_of<I>(a.g);
    const I out_plane = g.out_h * g.out_w, in_plane = g.in_h * g.in_w;
    FOR_EACH_INDEX_AS(I, i, a.g.planes * a.g.out_h * a.g.out_w) {
        I plane = i / out_plane, at = i % out_plane;
        const float* x = a.x + plane * in_plane;
        a.y[i] = x[window_argmax<I, S>(x, g, at / g.out_w, at % g.out_w)];
    }
}
BOTH_WIDTHS(max_pool2d_forward, PoolArgs)

// Output rows (or columns) [*lo, *hi) whose window covers input position p.
template <typename I, typename S>
__device__ __forceinline__ void covering(const Shape<I>& g, I p, I out_len, I* lo, I* hi) {
    // o covers p when o·stride − padding ≤ p < o·stride − padding + kernel.
    S shifted = (S)(p + g.padding);
    S first = shifted - (S)g.kernel + 1;
    *lo = first <= 0 ? 0 : (I)((first + (S)g.stride - 1) / (S)g.stride);
    I last = (I)(shifted / (S)g.stride) + 1;
    *hi = last < out_len ? last : out_len;
}

// Each input cell collects the gradient of every window it won.
template <typename I, typename S>
__device__ void max_pool2d_backward(const PoolArgs& a) {
    const Shape<I> g = shape_of<I>(a.g);
    const I out_plane = g.out_h * g.out_w, in_plane = g.in_h * g.in_w;
    FOR_EACH_INDEX_AS(I, i, a.g.planes * a.g.in_h * a.g.in_w) {
        I plane = i / in_plane, at = i % in_plane;
        const float* x = a.x + plane * in_plane;
        const float* dy = a.dy + plane * out_plane;
        I h0, h1, w0, w1;
        covering<I, S>(g, at / g.in_w, g.out_h, &h0, &h1);
        covering<I, S>(g, at % g.in_w, g.out_w, &w0, &w1);
        float sum = 0.0f;
        for (I oh = h0; oh < h1; ++oh) {
            for (I ow = w0; ow < w1; ++ow) {
                if (window_argmax<I, S>(x, g, oh, ow) == at) sum += dy[oh * g.out_w + ow];
            }
        }
        a.y[i] = sum;
    }
}
BOTH_WIDTHS(max_pool2d_backward, PoolArgs)

// The divisor is always kernel²: padding counts (PyTorch's count_include_pad=True).
template <typename I, typename S>
__device__ void avg_pool2d_forward(const PoolArgs& a) {
    const Shape<I> g = shape_of<I>(a.g);
    const I out_plane = g.out_h * g.out_w, in_plane = g.in_h * g.in_w;
    float scale = 1.0f / (float)(g.kernel * g.kernel);
    FOR_EACH_INDEX_AS(I, i, a.g.planes * a.g.out_h * a.g.out_w) {
        I plane = i / out_plane, at = i % out_plane;
        const float* x = a.x + plane * in_plane;
        I h0, h1, w0, w1;
        window<I, S>(g, at / g.out_w, g.in_h, &h0, &h1);
        window<I, S>(g, at % g.out_w, g.in_w, &w0, &w1);
        float sum = 0.0f;
        for (I ih = h0; ih < h1; ++ih) {
            for (I iw = w0; iw < w1; ++iw) sum += x[ih * g.in_w + iw];
        }
        a.y[i] = sum * scale;
    }
}
BOTH_WIDTHS(avg_pool2d_forward, PoolArgs)

// Each input cell gets an equal share of every window it lies in.
template <typename I, typename S>
__device__ void avg_pool2d_backward(const PoolArgs& a) {
    const Shape<I> g = shape_of<I>(a.g);
    const I out_plane = g.out_h * g.out_w, in_plane = g.in_h * g.in_w;
    float scale = 1.0f / (float)(g.kernel * g.kernel);
    FOR_EACH_INDEX_AS(I, i, a.g.planes * a.g.in_h * a.g.in_w) {
        I plane = i / in_plane, at = i % in_plane;
        const float* dy = a.dy + plane * out_plane;
        I h0, h1, w0, w1;
        covering<I, S>(g, at / g.in_w, g.out_h, &h0, &h1);
        covering<I, S>(g, at % g.in_w, g.out_w, &w0, &w1);
        float sum = 0.0f;
        for (I oh = h0; oh < h1; ++oh) {
            for (I ow = w0; ow < w1; ++ow) sum += dy[oh * g.out_w + ow] * scale;
        }
        a.y[i] = sum;
    }
}
BOTH_WIDTHS(avg_pool2d_backward, PoolArgs)
