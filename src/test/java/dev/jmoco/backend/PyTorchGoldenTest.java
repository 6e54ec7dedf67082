package dev.jmoco.backend;

import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.io.Safetensors;
import dev.jmoco.io.Safetensors.Tensor;
import dev.jmoco.testing.OneDnn;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every op of the CPU backend against PyTorch's answers, one case per fixture in src/test/resources/golden
 * (written by tools/golden/make_fixtures.py: float32 inputs, answers computed in float64 and rounded to
 * float32, so the tolerances below measure this backend's float32 error alone; no Python needed here).
 *
 * <p>Tolerances, abs + rel per element (see {@link Tolerance}), chosen per op:
 * <ul>
 *   <li>sums of products (GEMM, convolution, linear): abs = rel = sqrt(k) 1e-6, k the length of the reduction
 *       of that pass (inputs are uniform in [-1, 1], so rounding grows like sqrt(k) eps per term);</li>
 *   <li>batch norm (train, backward): 1e-5 abs and rel; eval 1e-6 abs, 1e-5 rel;</li>
 *   <li>row normalisation: 1e-6 abs, 1e-5 rel; mean pooling 1e-6 abs, 1e-5 rel;</li>
 *   <li>a handful of float ops per element (add, EMA, SGD, index_add, max-pool gradient): about 1 ulp,
 *       3e-7 to 1e-6 abs and 1e-6 rel;</li>
 *   <li>pure data movement and selection (relu, max-pool values and argmax, gather, index_copy, enqueue,
 *       accuracies): exact;</li>
 *   <li>losses: cross-entropy loss 1e-6 abs and rel, its gradient 1e-7 abs and 1e-5 rel; InfoNCE (K = 4096,
 *       logits scaled by 1/0.07) loss 1e-5 abs and rel, dq and dk 1e-6 abs and 1e-5 rel.</li>
 * </ul>
 * Backward ops must add into their gradients: each starts at 0, runs, is checked, runs again and must hold
 * twice the answer. Fused losses must write theirs: the gradient buffers start as NaN. Convolution fixtures run
 * on both convolution paths, oneDNN and the Java kernels (see {@link OneDnn}).
 */
class PyTorchGoldenTest {
    /** The ops of the Backend the fixtures must cover; a missing fixture fails {@link #everyOpHasAFixture}. */
    private static final Set<String> OPS = Set.of("gemm", "conv2d", "batchnorm_train", "batchnorm_eval", "relu",
            "add", "max_pool", "global_avg_pool", "linear", "normalize", "gather_rows", "scatter_rows",
            "cross_entropy", "infonce", "ema", "enqueue", "sgd");

    /** The default backend (convolutions on oneDNN where it loads) and one whose convolutions run in Java. */
    private static CpuBackend backend, javaConv;
    /** The backend of the running case. */
    private CpuBackend be;
    private final List<Buffer> open = new ArrayList<>();
    private long liveBefore;

    @BeforeAll
    static void openBackend() {
        backend = new CpuBackend();
        javaConv = new CpuBackend(Runtime.getRuntime().availableProcessors(), false);
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
        javaConv.close();
    }

    @BeforeEach
    void countLiveBuffers() { liveBefore = backend.poolStats().live() + javaConv.poolStats().live(); }

    @AfterEach
    void everyBufferIsReturned() {
        open.forEach(Buffer::close);
        open.clear();
        assertEquals(liveBefore, backend.poolStats().live() + javaConv.poolStats().live(), "root buffers left open");
    }

    /**
     * Each fixture with the convolution path it runs on: conv2d fixtures on both (see {@link OneDnn}), the
     * others on the default backend only.
     */
    static Stream<Arguments> cases() throws IOException, URISyntaxException {
        List<Arguments> cases = new ArrayList<>();
        for (String name : fixtures().toList()) {
            if (load(name).meta("op").equals("conv2d")) OneDnn.paths().forEach(p -> cases.add(Arguments.of(name, p)));
            else cases.add(Arguments.of(name, "default"));
        }
        return cases.stream();
    }

    static Stream<String> fixtures() throws IOException, URISyntaxException {
        try (Stream<Path> files = Files.list(folder())) {
            List<String> names = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".safetensors"))
                    .map(n -> n.substring(0, n.length() - ".safetensors".length()))
                    .sorted().toList();
            if (names.isEmpty()) throw new IllegalStateException("no fixtures: run tools/golden/make_fixtures.py");
            return names.stream();
        }
    }

    @Test
    void everyOpHasAFixture() throws IOException, URISyntaxException {
        Set<String> covered = new TreeSet<>();
        for (String name : fixtures().toList()) covered.add(load(name).meta("op"));
        assertEquals(new TreeSet<>(OPS), covered, "ops with fixtures");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesPyTorch(String name, String path) throws IOException, URISyntaxException {
        OneDnn.assumePath(path);
        be = path.equals("java") ? javaConv : backend;
        Fixture f = load(name);
        switch (f.meta("op")) {
            case "gemm" -> gemm(f);
            case "conv2d" -> conv2d(f);
            case "batchnorm_train" -> batchNormTrain(f);
            case "batchnorm_eval" -> batchNormEval(f);
            case "relu" -> relu(f);
            case "add" -> add(f);
            case "max_pool" -> maxPool(f);
            case "global_avg_pool" -> globalAvgPool(f);
            case "linear" -> linear(f);
            case "normalize" -> normalize(f);
            case "gather_rows" -> gatherRows(f);
            case "scatter_rows" -> scatterRows(f);
            case "cross_entropy" -> crossEntropy(f);
            case "infonce" -> infoNce(f);
            case "ema" -> ema(f);
            case "enqueue" -> enqueue(f);
            case "sgd" -> sgd(f);
            default -> fail(name + ": no runner for op " + f.meta("op"));
        }
    }

    // ---- dense algebra ------------------------------------------------------------------------------------

    private void gemm(Fixture f) {
        boolean ta = f.flag("trans_a"), tb = f.flag("trans_b");
        int m = f.integer("m"), n = f.integer("n"), k = f.integer("k");
        float alpha = f.number("alpha"), beta = f.number("beta");
        double tol = Math.sqrt(k) * 1e-6;
        Buffer a = up(f.data("a")), b = up(f.data("b")), c = up(f.data("c"));
        be.gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
        check(f, "C = alpha op(A) op(B) + beta C", f.data("c_out"), c, tol, tol);

        be.fill(c, Float.NaN);  // beta = 0 must not read C
        be.gemm(ta, tb, m, n, k, alpha, a, b, 0f, c);
        check(f, "C = alpha op(A) op(B) over NaN", scaled(f.data("ab"), alpha), c, tol, tol);
    }

    private void linear(Fixture f) {
        int rows = f.dim("x", 0), in = f.dim("x", 1), out = f.dim("w", 0);
        Buffer x = up(f.data("x")), w = up(f.data("w")), b = up(f.data("b")), dy = up(f.data("dy"));
        Buffer y = zeros((long) rows * out);
        be.gemm(false, true, rows, out, in, 1f, x, w, 0f, y);
        be.addBias(rows, out, b, y);
        check(f, "y = x W^T + b", f.data("y"), y, Math.sqrt(in) * 1e-6, Math.sqrt(in) * 1e-6);

        Buffer dx = zeros((long) rows * in), dw = zeros((long) out * in), db = zeros(out);
        double tolDx = Math.sqrt(out) * 1e-6, tolDw = Math.sqrt(rows) * 1e-6;
        backward(f, () -> {
                    be.gemm(false, false, rows, in, out, 1f, dy, w, 1f, dx);
                    be.gemm(true, false, out, in, rows, 1f, dy, x, 1f, dw);
                    be.biasBackward(rows, out, dy, db);
                },
                new Grad("dx", f.data("dx"), dx, tolDx, tolDx),
                new Grad("dW", f.data("dw"), dw, tolDw, tolDw),
                new Grad("db", f.data("db"), db, tolDw, tolDw));
    }

    private void add(Fixture f) {
        Buffer x = up(f.data("x")), y = up(f.data("y")), out = zeros(f.data("x").length);
        be.add(f.number("alpha"), x, f.number("beta"), y, out);
        check(f, "alpha x + beta y", f.data("out"), out, 3e-7, 1e-6);
        be.add(f.number("alpha"), x, f.number("beta"), y, y);  // out may alias y
        check(f, "alpha x + beta y into y", f.data("out"), y, 3e-7, 1e-6);
    }

    private void relu(Fixture f) {
        Buffer x = up(f.data("x")), y = zeros(f.data("x").length), dy = up(f.data("dy"));
        be.relu(x, y);
        check(f, "relu", f.data("y"), y, 0, 0);
        Buffer dx = zeros(f.data("x").length);
        backward(f, () -> be.reluBackward(y, dy, dx), new Grad("dx", f.data("dx"), dx, 0, 0));
    }

    // ---- convolution and pooling -----------------------------------------------------------------------

    private void conv2d(Fixture f) {
        ConvShape s = new ConvShape(f.dim("x", 0), f.dim("x", 1), f.dim("x", 2), f.dim("x", 3), f.dim("w", 0),
                f.dim("w", 2), f.dim("w", 3), f.integer("stride"), f.integer("pad"));
        Buffer x = up(f.data("x")), w = up(f.data("w")), dy = up(f.data("dy")), y = zeros(s.outputSize());
        be.conv2d(s, x, w, y);
        double tolY = Math.sqrt(s.c() * s.r() * s.s()) * 1e-6;
        check(f, "y", f.data("y"), y, tolY, tolY);

        Buffer dx = zeros(s.inputSize()), dw = zeros(s.filterSize());
        double tolDx = Math.sqrt(s.k() * s.r() * s.s()) * 1e-6;
        double tolDw = Math.sqrt((double) s.n() * s.p() * s.q()) * 1e-6;
        backward(f, () -> be.conv2dBackwardData(s, dy, w, dx), new Grad("dx", f.data("dx"), dx, tolDx, tolDx));
        backward(f, () -> be.conv2dBackwardFilter(s, x, dy, dw), new Grad("dw", f.data("dw"), dw, tolDw, tolDw));
    }

    private void maxPool(Fixture f) {
        PoolShape s = new PoolShape(f.dim("x", 0), f.dim("x", 1), f.dim("x", 2), f.dim("x", 3),
                f.integer("window"), f.integer("stride"), f.integer("pad"));
        Buffer x = up(f.data("x")), y = zeros(s.outputSize()), argmax = zeros(s.outputSize()), dy = up(f.data("dy"));
        be.maxPool(s, x, y, argmax);
        check(f, "y", f.data("y"), y, 0, 0);
        float[] index = new float[(int) s.outputSize()];
        long[] torchIndex = f.tensor("argmax").ints();
        for (int i = 0; i < index.length; i++) index[i] = torchIndex[i];
        check(f, "argmax (h * w + x in the plane)", index, argmax, 0, 0);

        Buffer dx = zeros(s.inputSize());  // windows overlap: a pixel may sum up to 4 gradients
        backward(f, () -> be.maxPoolBackward(s, dy, argmax, dx), new Grad("dx", f.data("dx"), dx, 3e-7, 1e-6));
    }

    private void globalAvgPool(Fixture f) {
        int n = f.dim("x", 0), c = f.dim("x", 1), hw = f.dim("x", 2) * f.dim("x", 3);
        Buffer x = up(f.data("x")), y = zeros((long) n * c), dy = up(f.data("dy")), dx = zeros((long) n * c * hw);
        be.globalAvgPool(n, c, hw, x, y);
        check(f, "y", f.data("y"), y, 1e-6, 1e-5);
        backward(f, () -> be.globalAvgPoolBackward(n, c, hw, dy, dx), new Grad("dx", f.data("dx"), dx, 1e-7, 1e-6));
    }

    // ---- normalisation ------------------------------------------------------------------------------------

    private void batchNormTrain(Fixture f) {
        BatchNormShape s = new BatchNormShape(f.dim("x", 0), f.dim("x", 1), f.dim("x", 2) * f.dim("x", 3),
                f.integer("groups"));
        Buffer x = up(f.data("x")), gamma = up(f.data("gamma")), beta = up(f.data("beta")), dy = up(f.data("dy"));
        Buffer runningMean = up(f.data("running_mean")), runningVar = up(f.data("running_var"));
        Buffer y = zeros(s.size()), mean = zeros(s.statsSize()), invStd = zeros(s.statsSize());
        be.batchNormTrain(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar,
                f.number("momentum"), f.number("eps"));
        check(f, "y", f.data("y"), y, 1e-5, 1e-5);
        check(f, "group mean (sample i in group i mod groups)", f.data("mean"), mean, 1e-5, 1e-5);
        check(f, "group 1/sqrt(var + eps)", f.data("inv_std"), invStd, 1e-5, 1e-5);
        check(f, "running mean", f.data("running_mean_out"), runningMean, 1e-5, 1e-5);
        check(f, "running var (unbiased, averaged over groups)", f.data("running_var_out"), runningVar, 1e-5, 1e-5);

        Buffer dx = zeros(s.size()), dgamma = zeros(s.c()), dbeta = zeros(s.c());
        backward(f, () -> be.batchNormBackward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta),
                new Grad("dx", f.data("dx"), dx, 1e-5, 1e-5),
                new Grad("dgamma", f.data("dgamma"), dgamma, 1e-5, 1e-5),
                new Grad("dbeta", f.data("dbeta"), dbeta, 1e-5, 1e-5));
    }

    private void batchNormEval(Fixture f) {
        BatchNormShape s = new BatchNormShape(f.dim("x", 0), f.dim("x", 1), f.dim("x", 2) * f.dim("x", 3), 1);
        Buffer x = up(f.data("x")), y = zeros(s.size());
        be.batchNormEval(s, x, up(f.data("gamma")), up(f.data("beta")), up(f.data("running_mean")),
                up(f.data("running_var")), f.number("eps"), y);
        check(f, "y", f.data("y"), y, 1e-6, 1e-5);
    }

    private void normalize(Fixture f) {
        int rows = f.dim("x", 0), cols = f.dim("x", 1);
        Buffer x = up(f.data("x")), y = zeros((long) rows * cols), norms = zeros(rows), dy = up(f.data("dy"));
        be.l2NormalizeRows(rows, cols, x, y, norms);
        check(f, "y", f.data("y"), y, 1e-6, 1e-5);
        check(f, "norms", f.data("norms"), norms, 1e-6, 1e-5);
        Buffer dx = zeros((long) rows * cols);
        backward(f, () -> be.l2NormalizeRowsBackward(rows, cols, y, norms, dy, dx),
                new Grad("dx", f.data("dx"), dx, 1e-6, 1e-5));
    }

    // ---- indexing --------------------------------------------------------------------------------------

    private void gatherRows(Fixture f) {
        int cols = f.dim("src", 1);
        int[] index = f.tensor("index").toIntArray();
        Buffer out = zeros((long) index.length * cols);
        be.gatherRows(cols, up(f.data("src")), index, out);
        check(f, "index_select", f.data("out"), out, 0, 0);
    }

    private void scatterRows(Fixture f) {
        boolean accumulate = f.flag("accumulate");
        Buffer dst = up(f.data("dst"));
        be.scatterRows(f.dim("dst", 1), up(f.data("src")), f.tensor("index").toIntArray(), dst, accumulate);
        if (accumulate) check(f, "index_add_ (repeated rows add up)", f.data("out"), dst, 3e-7, 1e-6);
        else check(f, "index_copy_", f.data("out"), dst, 0, 0);
    }

    // ---- fused losses ---------------------------------------------------------------------------------

    private void crossEntropy(Fixture f) {
        int rows = f.dim("logits", 0), cols = f.dim("logits", 1);
        int[] labels = f.tensor("labels").toIntArray();
        float gradScale = f.number("grad_scale");
        Buffer logits = up(f.data("logits")), stats = zeros(3), dlogits = nans((long) rows * cols);
        be.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, dlogits);
        checkStats(f, stats, 1e-6);
        check(f, "grad_scale d(loss)/d(logits)", f.data("dlogits"), dlogits, 1e-7, 1e-5);

        be.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, logits);  // dlogits may alias
        check(f, "gradient written over the logits", f.data("dlogits"), logits, 1e-7, 1e-5);
    }

    private void infoNce(Fixture f) {
        int n = f.dim("q", 0), c = f.dim("q", 1), kq = f.dim("queue", 0);
        float t = f.number("t"), gradScale = f.number("grad_scale");
        Buffer q = up(f.data("q")), k = up(f.data("k")), queue = up(f.data("queue")), stats = zeros(3);
        Buffer dq = nans((long) n * c), dk = nans((long) n * c);
        be.infoNce(n, c, kq, t, q, k, queue, gradScale, stats, dq, dk);
        checkStats(f, stats, 1e-5);
        check(f, "dq", f.data("dq"), dq, 1e-6, 1e-5);
        check(f, "dk (end-to-end)", f.data("dk"), dk, 1e-6, 1e-5);

        be.fill(dq, Float.NaN);  // MoCo: k is detached, no dk asked for
        be.infoNce(n, c, kq, t, q, k, queue, gradScale, stats, dq, null);
        checkStats(f, stats, 1e-5);
        check(f, "dq without dk", f.data("dq"), dq, 1e-6, 1e-5);
    }

    /** [loss, acc@1, acc@5]: the loss to {@code lossTol} abs and rel, the accuracies exactly. */
    private void checkStats(Fixture f, Buffer stats, double lossTol) {
        float[] expected = f.data("stats"), actual = down(stats);
        Tolerance.assertClose(f.name() + ": loss", new float[]{expected[0]}, new float[]{actual[0]}, lossTol, lossTol);
        assertArrayEquals(new float[]{expected[1], expected[2]}, new float[]{actual[1], actual[2]},
                f.name() + ": acc@1, acc@5");
    }

    // ---- MoCo state updates ---------------------------------------------------------------------------

    private void ema(Fixture f) {
        Buffer target = up(f.data("target"));
        be.ema(f.number("m"), target, up(f.data("source")));
        check(f, "m target + (1 - m) source", f.data("target_out"), target, 1e-7, 1e-6);
    }

    private void enqueue(Fixture f) {
        int capacity = f.dim("queue", 0), c = f.dim("queue", 1), n = f.dim("keys", 0);
        Buffer queue = up(f.data("queue"));
        be.enqueue(queue, capacity, c, up(f.data("keys")), n, f.integer("ptr"));
        check(f, "ring buffer after enqueue", f.data("queue_out"), queue, 0, 0);
    }

    private void sgd(Fixture f) {
        float lr = f.number("lr"), momentum = f.number("momentum"), decay = f.number("weight_decay");
        Buffer w = up(f.data("w")), b = up(f.data("b"));
        Buffer vw = zeros(w.size()), vb = zeros(b.size()), gw = zeros(w.size()), gb = zeros(b.size());
        for (int step = 0; step < f.integer("steps"); step++) {
            be.upload(f.data("grad_w_" + step), 0, gw);
            be.upload(f.data("grad_b_" + step), 0, gb);
            be.sgd(lr, momentum, decay, w, gw, vw);
            be.sgd(lr, momentum, 0f, b, gb, vb);  // the bias's param group has no weight decay
            check(f, "weight after step " + step, f.data("w_" + step), w, 1e-6, 1e-6);
            check(f, "bias after step " + step, f.data("b_" + step), b, 1e-6, 1e-6);
            check(f, "weight velocity after step " + step, f.data("velocity_w_" + step), vw, 1e-6, 1e-6);
            check(f, "bias velocity after step " + step, f.data("velocity_b_" + step), vb, 1e-6, 1e-6);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    /** A gradient a backward op adds into, with PyTorch's value and its tolerance. */
    private record Grad(String what, float[] expected, Buffer buffer, double abs, double rel) {}

    /** Zeroes the gradients, runs {@code op} and checks them; runs it again and checks that they doubled. */
    private void backward(Fixture f, Runnable op, Grad... grads) {
        for (Grad g : grads) be.fill(g.buffer(), 0f);
        op.run();
        for (Grad g : grads) check(f, g.what(), g.expected(), g.buffer(), g.abs(), g.rel());
        op.run();
        for (Grad g : grads)
            check(f, g.what() + " accumulated twice", scaled(g.expected(), 2f), g.buffer(), 2 * g.abs(), g.rel());
    }

    /** Within abs + rel per element; abs = rel = 0 asks for bit-exact values (ops that only move or select). */
    private void check(Fixture f, String what, float[] expected, Buffer actual, double abs, double rel) {
        if (abs == 0 && rel == 0) assertArrayEquals(expected, down(actual), f.name() + ": " + what);
        else Tolerance.assertClose(f.name() + ": " + what, expected, down(actual), abs, rel);
    }

    private Buffer up(float[] values) {
        Buffer b = track(be.allocate(values.length));
        be.upload(values, 0, b);
        return b;
    }

    private Buffer zeros(long size) {
        Buffer b = track(be.allocate(size));
        be.fill(b, 0f);
        return b;
    }

    private Buffer nans(long size) {
        Buffer b = track(be.allocate(size));
        be.fill(b, Float.NaN);
        return b;
    }

    private Buffer track(Buffer b) {
        open.add(b);
        return b;
    }

    private float[] down(Buffer b) {
        float[] out = new float[Math.toIntExact(b.size())];
        be.download(b, out, 0);
        return out;
    }

    private static float[] scaled(float[] values, float factor) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = values[i] * factor;
        return out;
    }

    private static Path folder() throws URISyntaxException {
        var url = Objects.requireNonNull(PyTorchGoldenTest.class.getResource("/golden"),
                "src/test/resources/golden missing: run tools/golden/make_fixtures.py");
        return Path.of(url.toURI());
    }

    private static Fixture load(String name) throws IOException, URISyntaxException {
        Safetensors.Contents c = Safetensors.read(folder().resolve(name + ".safetensors"));
        return new Fixture(name, c.tensors(), c.metadata());
    }

    /** One fixture file: tensors by name and the op's settings as strings, with lookups that name what is missing. */
    private record Fixture(String name, Map<String, Tensor> tensors, Map<String, String> settings) {
        Tensor tensor(String key) {
            Tensor t = tensors.get(key);
            if (t == null) throw new IllegalStateException(name + ": no tensor " + key + " (has " + tensors.keySet() + ")");
            return t;
        }

        float[] data(String key) { return tensor(key).data(); }

        int dim(String key, int axis) { return Math.toIntExact(tensor(key).shape()[axis]); }

        String meta(String key) {
            String v = settings.get(key);
            if (v == null) throw new IllegalStateException(name + ": no setting " + key + " (has " + settings.keySet() + ")");
            return v;
        }

        float number(String key) { return Float.parseFloat(meta(key)); }

        int integer(String key) { return Integer.parseInt(meta(key)); }

        boolean flag(String key) {
            return switch (meta(key)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalStateException(name + ": setting " + key + " is not a boolean");
            };
        }
    }
}
