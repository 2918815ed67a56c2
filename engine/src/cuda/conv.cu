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

// ANCHOR: im2col
// im2col: src is one image [c, h, w], dst the column matrix [c·kh·kw, rows·out_w]:
// dst[(c·kh + i)·kw + j, (r − row_start)·out_w + ow] = src[c, r·sh − ph + i·dh, ow·sw − pw + j·dw],
// or 0 where the tap falls in the zero padding. Consecutive threads fill consecutive columns.
extern "C" __global__ void im2col_tile(const TileArgs a) {
    const ConvGeometry g = a.g;
    u64 tile = a.rows * g.out_w;
    u64 taps = g.kernel_h * g.kernel_w;
    FOR_EACH_INDEX(t, g.in_channels * taps * tile) {
        u64 row = t / tile, column = t % tile;
        u64 c = row / taps, tap = row % taps;
        u64 ki = tap / g.kernel_w, kj = tap % g.kernel_w;
        u64 r = a.row_start + column / g.out_w, ow = column % g.out_w;
        long long ih = (long long)(r * g.stride_h + ki * g.dil_h) - (long long)g.pad_h;
        long long iw = (long long)(ow * g.stride_w + kj * g.dil_w) - (long long)g.pad_w;
        bool inside = ih >= 0 && ih < (long long)g.in_h && iw >= 0 && iw < (long long)g.in_w;
        a.dst[t] = inside ? a.src[(c * g.in_h + (u64)ih) * g.in_w + (u64)iw] : 0.0f;
    }
}
// ANCHOR_END: im2col

// col2im, the adjoint: src is the column matrix of the tile, dst one image's gradient [c, h, w].
// Each thread owns one input pixel and adds every column entry copied from it — a gather, so
// no two threads ever write the same place and the sum needs no atomics.
extern "C" __global__ void col2im_tile(const TileArgs a) {
    const ConvGeometry g = a.g;
    u64 tile = a.rows * g.out_w;
    FOR_EACH_INDEX(t, g.in_channels * a.in_rows * g.in_w) {
        u64 iw = t % g.in_w;
        u64 rest = t / g.in_w;
        u64 ih = a.in_row_start + rest % a.in_rows;
        u64 c = rest / a.in_rows;
        float sum = 0.0f;
        for (u64 ki = 0; ki < g.kernel_h; ++ki) {
            // Output row oh sees this pixel through tap ki when oh·sh − ph + ki·dh = ih.
            long long y = (long long)(ih + g.pad_h) - (long long)(ki * g.dil_h);
            if (y < 0 || y % (long long)g.stride_h != 0) continue;
            u64 oh = (u64)y / g.stride_h;
            if (oh < a.row_start || oh >= a.row_start + a.rows) continue;
            for (u64 kj = 0; kj < g.kernel_w; ++kj) {
                long long x = (long long)(iw + g.pad_w) - (long long)(kj * g.dil_w);
                if (x < 0 || x % (long long)g.stride_w != 0) continue;
                u64 ow = (u64)x / g.stride_w;
                if (ow >= g.out_w) continue;
                u64 row = (c * g.kernel_h + ki) * g.kernel_w + kj;
                sum += a.src[row * tile + (oh - a.row_start) * g.out_w + ow];
            }
        }
        a.dst[(c * g.in_h + ih) * g.in_w + iw] += sum;
    }
}

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
extern "C" __global__ void bias_relu(const EpilogueArgs a) {
    FOR_EACH_INDEX(i, a.n) {
        float v = a.y[i];
        if (a.bias) v += a.bias[(i / a.pixels) % a.channels];
        a.y[i] = a.relu ? fmaxf(v, 0.0f) : v;
    }
}
// ANCHOR_END: bias_relu
