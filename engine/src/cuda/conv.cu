// Convolution as matrix products: the CUDA twin of cpu/conv.rs and cpu/conv_im2col.rs. The
// products themselves are cuBLAS calls (conv.rs); these kernels move pixels into and out of
// the column matrix, one tile of output rows at a time, so the buffer stays bounded.

struct ConvGeometry {
    u64 batch;
    u64 in_channels;
    u64 in_h;
    u64 in_w;
    u64 out_channels;
    u64 kernel_h;
    u64 kernel_w;
    u64 stride_h;
    u64 stride_w;
    u64 pad_h;
    u64 pad_w;
    u64 dil_h;
    u64 dil_w;
    u64 out_h;
    u64 out_w;
};

struct TileArgs {
    const float* src;
    float* dst;
    ConvGeometry g;
    u64 row_start;     // first output row of the tile
    u64 rows;          // output rows in the tile
    u64 in_row_start;  // col2im: first input row the tile touches
    u64 in_rows;       // col2im: how many input rows it touches
};

// The tile kernels come in two widths (BOTH_WIDTHS in the prelude): they divide for every
// element they write.

// ANCHOR: im2col
// im2col: src is one image [c, h, w], dst the column matrix [c·kh·kw, rows·out_w]:
// dst[(c·kh + i)·kw + j, (r − row_start)·out_w + ow] = src[c, r·sh − ph + i·dh, ow·sw − pw + j·dw],
// or 0 where the tap falls in the zero padding. Consecutive threads fill consecutive columns.
template <typename I, typename S>
__device__ void im2col_tile(const TileArgs& a) {
    const I in_h = (I)a.g.in_h, in_w = (I)a.g.in_w, out_w = (I)a.g.out_w;
    const I kw = (I)a.g.kernel_w, taps = (I)(a.g.kernel_h * a.g.kernel_w);
    const I tile = (I)(a.rows * a.g.out_w), row_start = (I)a.row_start;
    FOR_EACH_INDEX_AS(I, t, a.g.in_channels * taps * tile) {
        I row = t / tile, column = t % tile;
        I c = row / taps, tap = row % taps;
        I ki = tap / kw, kj = tap % kw;
        I r = row_start + column / out_w, ow = column % out_w;
        S ih = (S)(r * (I)a.g.stride_h + ki * (I)a.g.dil_h) - (S)a.g.pad_h;
        S iw = (S)(ow * (I)a.g.stride_w + kj * (I)a.g.dil_w) - (S)a.g.pad_w;
        bool inside = ih >= 0 && ih < (S)in_h && iw >= 0 && iw < (S)in_w;
        a.dst[t] = inside ? a.src[(c * in_h + (I)ih) * in_w + (I)iw] : 0.0f;
    }
}
BOTH_WIDTHS(im2col_tile, TileArgs)
// ANCHOR_END: im2col

// col2im, the adjoint: src is the column matrix of the tile, dst one image's gradient [c, h, w].
// Each thread owns one input pixel and adds every column entry copied from it — a gather, so
// no two threads ever write the same place and the sum needs no atomics.
template <typename I, typename S>
__device__ void col2im_tile(const TileArgs& a) {
    const I in_h = (I)a.g.in_h, in_w = (I)a.g.in_w, out_w = (I)a.g.out_w;
    const I kh = (I)a.g.kernel_h, kw = (I)a.g.kernel_w;
    const I sh = (I)a.g.stride_h, sw = (I)a.g.stride_w, dh = (I)a.g.dil_h, dw = (I)a.g.dil_w;
    const I tile = (I)(a.rows * a.g.out_w), row_start = (I)a.row_start, rows = (I)a.rows;
    const I in_rows = (I)a.in_rows;
    FOR_EACH_INDEX_AS(I, t, a.g.in_channels * a.in_rows * a.g.in_w) {
        I iw = t % in_w;
        I rest = t / in_w;
        I ih = (I)a.in_row_start + rest % in_rows;
        I c = rest / in_rows;
        float sum = 0.0f;
        for (I ki = 0; ki < kh; ++ki) {
            // Output row oh sees this pixel through tap ki when oh·sh − ph + ki·dh = ih.
            S y = (S)(ih + (I)a.g.pad_h) - (S)(ki * dh);
            if (y < 0 || y % (S)sh != 0) continue;
            I oh = (I)y / sh;
            if (oh < row_start || oh >= row_start + rows) continue;
            for (I kj = 0; kj < kw; ++kj) {
                S x = (S)(iw + (I)a.g.pad_w) - (S)(kj * dw);
                if (x < 0 || x % (S)sw != 0) continue;
                I ow = (I)x / sw;
                if (ow >= out_w) continue;
                I row = (c * kh + ki) * kw + kj;
                sum += a.src[row * tile + (oh - row_start) * out_w + ow];
            }
        }
        a.dst[(c * in_h + ih) * in_w + iw] += sum;
    }
}
BOTH_WIDTHS(col2im_tile, TileArgs)

struct EpilogueArgs {
    const float* bias;  // null: no bias
    float* y;
    u64 n;
    u64 pixels;
    u64 channels;
    u32 relu;
    u32 unused;
};

// ANCHOR: bias_relu
// After the GEMMs (beta = 0): each output gets its channel's bias and, for conv2d_relu, the
// ReLU, in one read and one write of the output (instead of a bias fill the GEMM reads back,
// then a ReLU pass that reads and writes it again).
// Two widths, as the tiles: finding an output's channel divides.
template <typename I, typename S>
__device__ void bias_relu(const EpilogueArgs& a) {
    const I pixels = (I)a.pixels, channels = (I)a.channels;
    FOR_EACH_INDEX_AS(I, i, a.n) {
        float v = a.y[i];
        if (a.bias) v += a.bias[(i / pixels) % channels];
        a.y[i] = a.relu ? fmaxf(v, 0.0f) : v;
    }
}
BOTH_WIDTHS(bias_relu, EpilogueArgs)
// ANCHOR_END: bias_relu
