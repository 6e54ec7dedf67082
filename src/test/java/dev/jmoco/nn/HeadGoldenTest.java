package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.io.Safetensors;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The batch-norm projection head ({@link HeadKind#BN}) against PyTorch's Sequential(Linear(bias=False), BN,
 * ReLU, Linear(bias=False), BN) with MoCo's split BN (2 groups): eval-mode output, train-mode output, running
 * statistics after the step and every parameter's gradient (tools/golden/make_head_fixtures.py; PyTorch in
 * float64, so 1e-5 + 1e-5 bounds float32 error on values of order 1).
 */
class HeadGoldenTest {
    private static final double ABS = 1e-5, REL = 1e-5;

    @Test
    void matchesPyTorchInEvalAndTrainMode() throws Exception {
        var url = Objects.requireNonNull(getClass().getResource("/golden/nn/head_bn.safetensors"),
                "run tools/golden/make_head_fixtures.py");
        Safetensors.Contents contents = Safetensors.read(Path.of(url.toURI()));
        Map<String, Safetensors.Tensor> f = contents.tensors();
        int n = Integer.parseInt(contents.metadata().get("batch")), features = Integer.parseInt(
                contents.metadata().get("features")), dim = Integer.parseInt(contents.metadata().get("dim"));
        int groups = Integer.parseInt(contents.metadata().get("bn_splits"));
        Module head = HeadKind.BN.build(features, dim);
        ParameterLayout layout = new ParameterLayout(DecayPolicy.EXEMPT_NORM_AND_BIAS);
        head.register(layout);
        List<String> names = layout.specs().stream().map(ParameterLayout.Spec::name).toList();
        assertEquals(List.of("fc.0.weight", "fc.1.weight", "fc.1.bias", "fc.1.running_mean", "fc.1.running_var",
                "fc.3.weight", "fc.4.weight", "fc.4.bias", "fc.4.running_mean", "fc.4.running_var"), names,
                "state_dict names (torch's Sequential indices, no linear biases)");
        try (CpuBackend backend = new CpuBackend();
             ParameterArena arena = layout.builder().build(backend, true);
             Tensor x = Tensor.fromArray(backend, f.get("x").data(), n, features);
             Tensor g = Tensor.fromArray(backend, f.get("g").data(), n, dim)) {
            for (String name : names) arena.load(name, f.get(name).data());
            try (Tape ignored = Tape.noGrad()) {
                close("eval output", f.get("eval_output"), head.forward(arena, x, Mode.EVAL).toArray());
            }
            try (Tape tape = Tape.record()) {
                Tensor out = head.forward(arena, x, Mode.train(groups));
                tape.backwardWith(out, g);
                close("train output", f.get("train_output"), out.toArray());
            }
            int checked = 0;
            for (String key : f.keySet()) {
                if (key.startsWith("grad.")) {
                    close(key, f.get(key), NnTesting.grad(arena, key.substring("grad.".length())));
                    checked++;
                } else if (key.startsWith("after.")) {
                    close(key, f.get(key), arena.export(key.substring("after.".length())));
                    checked++;
                }
            }
            assertEquals(6 + 4, checked, "gradients of the 6 parameters and 4 running statistics checked");
        }
    }

    private static void close(String what, Safetensors.Tensor expected, float[] actual) {
        assertEquals(expected.data().length, actual.length, what + " size");
        Tolerance.assertClose(what, expected.data(), actual, ABS, REL);
    }
}
