// Moving elements between views: the CUDA twin of cpu/copy.rs.

struct CopyArgs {
    const float* x;
    float* y;
    u64 n;
    Strided x_view;
    Strided y_view;
};

// Element i of the x view goes to element i of the y view. With a dense y_view this gathers a
// strided view into a fresh buffer; with a narrowed one it places a part of a concatenation.
template <typename I, typename S>
__device__ void strided_copy(const CopyArgs& a) {
    FOR_EACH_INDEX_AS(I, i, a.n) {
        a.y[strided_offset<I>(a.y_view, i)] = a.x[strided_offset<I>(a.x_view, i)];
    }
}
BOTH_WIDTHS(strided_copy, CopyArgs)

struct FillArgs {
    float* y;
    u64 n;
    float value;
    u32 unused;
};

extern "C" __global__ void fill_value(const FillArgs a) {
    FOR_EACH_INDEX(i, a.n) {
        a.y[i] = a.value;
    }
}
