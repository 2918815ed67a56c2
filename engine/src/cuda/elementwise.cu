// Element-by-element maps: the CUDA twin of cpu/elementwise.rs. One thread per output element
// (grid-stride); the operation is a code chosen once per launch, the same for every thread, so
// the `switch` costs no divergence.

// UnaryOp codes, in the order of ops.rs (elementwise.rs: `unary_code`).
#define OP_NEG 0
#define OP_EXP 1
#define OP_LOG 2
#define OP_SQRT 3
#define OP_RECIP 4
#define OP_ABS 5
#define OP_SIGN 6
#define OP_STEP 7
#define OP_RELU 8
#define OP_SIGMOID 9
#define OP_TANH 10
#define OP_LEAKY_RELU 11
#define OP_LEAKY_RELU_DERIV 12
#define OP_POWF 13
#define OP_AFFINE 14
#define OP_CLAMP 15
#define OP_IN_RANGE 16

// The scalar definitions of ops.rs (`UnaryOp::apply`); p and q are the op's constants.
__device__ __forceinline__ float apply_unary(u32 op, float x, float p, float q) {
    switch (op) {
        case OP_NEG: return -x;
        case OP_EXP: return expf(x);
        case OP_LOG: return logf(x);
        case OP_SQRT: return sqrtf(x);
        case OP_RECIP: return 1.0f / x;
        case OP_ABS: return fabsf(x);
        case OP_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
        case OP_STEP: return x > 0.0f ? 1.0f : 0.0f;
        case OP_RELU: return fmaxf(x, 0.0f);  // fmaxf(NaN, 0) = 0, as Rust's f32::max
        case OP_SIGMOID:
            // Written so that neither branch overflows (ops.rs: stable_sigmoid).
            if (x >= 0.0f) {
                return 1.0f / (1.0f + expf(-x));
            } else {
                float e = expf(x);
                return e / (1.0f + e);
            }
        case OP_TANH: return tanhf(x);
        case OP_LEAKY_RELU: return x > 0.0f ? x : p * x;
        case OP_LEAKY_RELU_DERIV: return x > 0.0f ? 1.0f : p;
        case OP_POWF: return powf(x, p);
        case OP_AFFINE: return p * x + q;
        // Comparisons, not fminf/fmaxf, so that NaN stays NaN as in Rust's f32::clamp.
        case OP_CLAMP: return x < p ? p : (x > q ? q : x);
        case OP_IN_RANGE: return (x >= p && x <= q) ? 1.0f : 0.0f;
        default: return 0.0f;
    }
}

// ANCHOR: unary_map
struct UnaryArgs {
    const float* x;
    float* y;
    u64 n;
    Strided x_view;
    u32 op;
    float p;
    float q;
    u32 unused;
};

// y[i] = op(x viewed through x_view, element i); y is dense. In two widths, unary_map_32 and
// unary_map_64 (BOTH_WIDTHS in the prelude).
template <typename I, typename S>
__device__ void unary_map(const UnaryArgs& a) {
    FOR_EACH_INDEX_AS(I, i, a.n) {
        a.y[i] = apply_unary(a.op, a.x[strided_offset<I>(a.x_view, i)], a.p, a.q);
    }
}
BOTH_WIDTHS(unary_map, UnaryArgs)
// ANCHOR_END: unary_map

// BinaryOp codes, in the order of ops.rs.
#define OP_ADD 0
#define OP_SUB 1
#define OP_MUL 2
#define OP_DIV 3
#define OP_MAXIMUM 4
#define OP_MINIMUM 5
#define OP_EQ 6
#define OP_GT 7
#define OP_MASK_POSITIVE 8

__device__ __forceinline__ float apply_binary(u32 op, float a, float b) {
    switch (op) {
        case OP_ADD: return a + b;
        case OP_SUB: return a - b;
        case OP_MUL: return a * b;
        case OP_DIV: return a / b;
        case OP_MAXIMUM: return fmaxf(a, b);
        case OP_MINIMUM: return fminf(a, b);
        case OP_EQ: return a == b ? 1.0f : 0.0f;
        case OP_GT: return a > b ? 1.0f : 0.0f;
        case OP_MASK_POSITIVE: return b > 0.0f ? a : 0.0f;
        default: return 0.0f;
    }
}

struct BinaryArgs {
    const float* a;
    const float* b;
    float* y;
    u64 n;
    Strided a_view;
    Strided b_view;
    u32 op;
    u32 unused;
};

// y[i] = op(a[i], b[i]) for two views of the same shape (broadcasting is a view with
// stride 0, made before the launch).
template <typename I, typename S>
__device__ void binary_map(const BinaryArgs& args) {
    FOR_EACH_INDEX_AS(I, i, args.n) {
        float a = args.a[strided_offset<I>(args.a_view, i)];
        float b = args.b[strided_offset<I>(args.b_view, i)];
        args.y[i] = apply_binary(args.op, a, b);
    }
}
BOTH_WIDTHS(binary_map, BinaryArgs)
