package dev.jmoco.eval;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.io.Safetensors;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Three fine-tuning steps of a tiny network against PyTorch's (tools/golden/make_finetune_fixtures.py): the
 * backbone in training-mode BN, the head's batch norm without affine parameters (cumulative running
 * statistics), the linear classifier, two learning rates and weight decay on weights only; every parameter and
 * running statistic after every step, and the loss.
 */
class FineTuneGoldenTest {
    private static final double LOSS = 1e-6, ABS = 1e-6, REL = 1e-5;

    @Test
    void threeStepsMatchPyTorch() throws IOException, URISyntaxException {
        Safetensors.Contents f = Safetensors.read(Path.of(Objects.requireNonNull(
                FineTuneGoldenTest.class.getResource("/golden/finetune/finetune.safetensors")).toURI()));
        Map<String, String> meta = f.metadata();
        long[] xShape = f.tensors().get("x_0").shape();
        int n = (int) xShape[0], c = (int) xShape[1], hw = (int) xShape[2];
        int width = (int) f.tensors().get("conv1.weight_init").shape()[0];
        int classes = Integer.parseInt(meta.get("classes"));
        FineTune.Settings s = new FineTune.Settings(1, n, 0.1, Double.parseDouble(meta.get("backbone_lr_scale")),
                Float.parseFloat(meta.get("momentum")), Float.parseFloat(meta.get("weight_decay")), 0);
        try (CpuBackend backend = new CpuBackend();
             ParameterArena b = new ParameterArena.Builder()
                     .parameter("conv1.weight", true, width, c, 3, 3)
                     .parameter("bn1.weight", false, width).parameter("bn1.bias", false, width)
                     .state("bn1.running_mean", width).state("bn1.running_var", width)
                     .build(backend, true);
             Tensor x = Tensor.allocate(backend, n, c, hw, hw)) {
            for (String name : new String[] {"conv1.weight", "bn1.weight", "bn1.bias"}) b.load(name, data(f, name + "_init"));
            float[] ones = new float[width];
            Arrays.fill(ones, 1f);
            b.load("bn1.running_var", ones);
            FineTune.Backbone tiny = (images, training) -> {
                Tensor y = Ops.conv2d(images, b.tensor("conv1.weight"), 1, 1);
                y = Ops.batchNorm2d(y, b.tensor("bn1.weight"), b.tensor("bn1.bias"), b.tensor("bn1.running_mean"),
                        b.tensor("bn1.running_var"), 1, 0.1f, 1e-5f);
                return Ops.globalAvgPool(Ops.relu(y));
            };
            try (FineTune.Step step = new FineTune.Step(tiny, b, width, classes, s, data(f, "fc.weight_init"),
                    data(f, "fc.bias_init"))) {
                for (int t = 0; t < Integer.parseInt(meta.get("steps")); t++) {
                    String at = "step " + t;
                    x.copyFrom(data(f, "x_" + t));
                    Loss.Stats stats = step.step(x, f.tensors().get("y_" + t).toIntArray(), data(f, "lr_" + t)[0]);
                    float[] expected = data(f, "stats_" + t);
                    Tolerance.assertClose(at + " loss", new float[] {expected[0]}, new float[] {(float) stats.loss()},
                            LOSS, LOSS);
                    assertEquals(expected[1], stats.acc1(), 0, at + " acc@1");
                    for (ParameterArena.Entry e : b.entries())
                        Tolerance.assertClose(at + " " + e.name(), data(f, e.name() + "_" + t), b.export(e.name()), ABS, REL);
                    ParameterArena head = step.classifier();
                    for (String name : new String[] {"fc.weight", "fc.bias", "fc_bn.running_mean", "fc_bn.running_var"})
                        Tolerance.assertClose(at + " " + name, data(f, name + "_" + t), head.export(name), ABS, REL);
                }
            }
        }
    }

    private static float[] data(Safetensors.Contents f, String name) {
        Safetensors.Tensor t = f.tensors().get(name);
        if (t == null) throw new IllegalStateException("fixture has no tensor " + name);
        return t.data();
    }
}
