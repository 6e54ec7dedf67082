package dev.jmoco.eval;

import dev.jmoco.io.Safetensors;
import dev.jmoco.optim.StepSchedule;
import dev.jmoco.testing.LeakCheckedCpuBackend;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kNN monitor and the linear probe against PyTorch (fixtures in src/test/resources/golden/eval, written by
 * tools/golden/make_eval_fixtures.py; answers computed in float64 from the stored float32 inputs).
 *
 * <p>kNN: predicted labels must be identical (the script dropped queries whose answer hangs on a near tie).
 * Linear probe: 3 epochs x 3 SGD steps in float32 against float64; final weights and bias within 1e-5 abs +
 * 1e-4 rel (a few dozen float32 roundings, each amplified at most by lr 0.5 x momentum), the per-epoch mean
 * loss and train accuracy within 1e-5, test top-1 and top-5 exact (no test logit is near a tie).
 */
class EvalGoldenTest {
    @RegisterExtension
    static final LeakCheckedCpuBackend CPU = new LeakCheckedCpuBackend();

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"knn_k200", "knn_k7"})
    void knnPredictsWhatTheReferenceDemoPredicts(String name) throws Exception {
        Safetensors.Contents f = load(name);
        int classes = Integer.parseInt(f.metadata().get("classes"));
        var settings = new KnnMonitor.Settings(Integer.parseInt(f.metadata().get("k")),
                Float.parseFloat(f.metadata().get("temperature")), 37);  // odd chunk: several blocks + a remainder
        FeatureSet bank = set(f, "bank", "bank_labels"), queries = set(f, "queries", "query_labels");
        long live = CPU.backend().poolStats().live();
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank, classes, settings)) {
            KnnResult r = knn.evaluate(queries);
            assertArrayEquals(f.tensors().get("predicted").toIntArray(), r.predictions(), name + " predictions");
            assertEquals(Double.parseDouble(f.metadata().get("accuracy")), r.accuracy(), 1e-12, name + " accuracy");
        }
        assertEquals(live, CPU.backend().poolStats().live(), "buffers left open");
    }

    @Test
    void linearProbeReplaysTorchSgd() throws Exception {
        Safetensors.Contents f = load("linear_probe");
        var m = f.metadata();
        int classes = Integer.parseInt(m.get("classes"));
        int[] milestones = Arrays.stream(m.get("milestones").split(",")).mapToInt(Integer::parseInt).toArray();
        var settings = new LinearProbe.Settings(Integer.parseInt(m.get("epochs")),
                Integer.parseInt(m.get("batch_size")),
                new StepSchedule(Double.parseDouble(m.get("lr")), milestones, Double.parseDouble(m.get("gamma"))),
                Float.parseFloat(m.get("momentum")), Float.parseFloat(m.get("weight_decay")),
                Boolean.parseBoolean(m.get("standardize")), 0);
        int[] order = f.tensors().get("order").toIntArray();
        int n = f.tensors().get("y_train").toIntArray().length;
        LinearProbe.Result r = LinearProbe.train(CPU.backend(), set(f, "x_train", "y_train"), set(f, "x_test", "y_test"),
                classes, settings, null, f.tensors().get("init_weight").data(), f.tensors().get("init_bias").data(),
                epoch -> Arrays.copyOfRange(order, epoch * n, (epoch + 1) * n));
        Tolerance.assertClose("weight", f.tensors().get("weight_out").data(), r.weight(), 1e-5, 1e-4);
        Tolerance.assertClose("bias", f.tensors().get("bias_out").data(), r.bias(), 1e-5, 1e-4);
        float[] loss = f.tensors().get("epoch_loss").data(), acc = f.tensors().get("epoch_accuracy").data();
        for (int e = 0; e < loss.length; e++) {
            assertEquals(loss[e], r.history().get(e).loss(), 1e-5, "loss of epoch " + e);
            assertEquals(acc[e], r.history().get(e).trainAccuracy(), 1e-5, "train accuracy of epoch " + e);
        }
        assertEquals(Double.parseDouble(m.get("top1")), r.top1(), 1e-12, "top-1");
        assertEquals(Double.parseDouble(m.get("top5")), r.top5().orElseThrow(), 1e-12, "top-5");
    }

    private static FeatureSet set(Safetensors.Contents f, String features, String labels) {
        Safetensors.Tensor x = f.tensors().get(features);
        return new FeatureSet(x.data(), (int) x.shape()[0], (int) x.shape()[1], f.tensors().get(labels).toIntArray());
    }

    private static Safetensors.Contents load(String name) throws IOException, URISyntaxException {
        var url = Objects.requireNonNull(EvalGoldenTest.class.getResource("/golden/eval/" + name + ".safetensors"),
                "fixture " + name + " missing: run tools/golden/make_eval_fixtures.py");
        return Safetensors.read(Path.of(url.toURI()));
    }
}
