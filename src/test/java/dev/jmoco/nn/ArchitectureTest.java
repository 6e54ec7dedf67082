package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.io.Safetensors;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Layouts against torchvision 0.14: parameter counts, and the exact ordered state_dict names and shapes
 * (num_batches_tracked excepted), read from the metadata of the golden fixture that
 * tools/golden/make_encoder_fixtures.py wrote from torchvision itself; decay kinds; ids; misuse.
 */
class ArchitectureTest {
    private static Map<String, String> torchvision() throws IOException, URISyntaxException {
        var url = Objects.requireNonNull(
                ArchitectureTest.class.getResource("/golden/nn/encoder_resnet18_cifar.safetensors"),
                "run tools/golden/make_encoder_fixtures.py");
        return Safetensors.read(Path.of(url.toURI())).metadata();
    }

    /** Our layout in the fixture's 'name:d0xd1;...' form. */
    private static String described(Architecture a) {
        List<String> out = new ArrayList<>();
        for (ParameterLayout.Spec s : a.parameters())
            out.add(s.name() + ":" + String.join("x", Arrays.stream(s.shape()).mapToObj(String::valueOf).toList()));
        return String.join(";", out);
    }

    @Test
    void resnet18ImageNetMatchesTorchvision() throws Exception {
        Architecture a = Encoders.create("resnet18", Stem.IMAGENET, 3, HeadKind.V1, 1000);
        assertEquals(11_689_512L, a.parameterCount());
        assertEquals(Long.parseLong(torchvision().get("resnet18_parameters")), a.parameterCount());
        assertEquals(torchvision().get("resnet18_state_dict"), described(a));
        assertEquals(512, a.featureDim());
    }

    @Test
    void resnet50ImageNetMatchesTorchvision() throws Exception {
        Architecture a = Encoders.create("resnet50", Stem.IMAGENET, 3, HeadKind.V1, 1000);
        assertEquals(25_557_032L, a.parameterCount());
        assertEquals(torchvision().get("resnet50_state_dict"), described(a));
        assertEquals(2048, a.featureDim());
    }

    @Test
    void resnet18CifarMatchesTorchvisionWithA3x3Stem() throws Exception {
        Architecture a = Encoders.create("resnet18", Stem.CIFAR, 3, HeadKind.V1, 128);
        assertEquals(torchvision().get("state_dict"), described(a));
        assertEquals(Long.parseLong(torchvision().get("parameters")), a.parameterCount());
    }

    @Test
    void arenaHoldsExactlyTheLayout() {
        Architecture a = Encoders.create("resnet18", Stem.CIFAR, 1, HeadKind.V2, 128);
        try (CpuBackend backend = new CpuBackend(); ParameterArena arena = a.arenaLayout().build(backend, false)) {
            assertEquals(a.parameterCount(), arena.parameterSize());
            assertEquals(a.parameters().stream().map(ParameterLayout.Spec::name).toList(), arena.names());
            assertEquals(2 * 4800, arena.stateSize(), "running mean and var of 4800 BN channels");
        }
    }

    @Test
    void v2HeadIsMocoV2sMlp() {
        Architecture a = Encoders.create("resnet18", Stem.CIFAR, 3, HeadKind.V2, 128);
        List<ParameterLayout.Spec> p = a.parameters();
        List<String> tail = p.subList(p.size() - 4, p.size()).stream().map(ParameterLayout.Spec::toString).toList();
        assertEquals(List.of("fc.0.weight DECAYED [512, 512]", "fc.0.bias EXEMPT [512]",
                "fc.2.weight DECAYED [128, 512]", "fc.2.bias EXEMPT [128]"), tail);
        long v1 = Encoders.create("resnet18", Stem.CIFAR, 3, HeadKind.V1, 128).parameterCount();
        assertEquals(v1 + 512 * 512 + 512, a.parameterCount());
    }

    @Test
    void smallCnnLayout() {
        Architecture a = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V2, 128);
        assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
                "conv3.weight", "bn3.weight", "bn3.bias", "bn3.running_mean", "bn3.running_var",
                "fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias"),
                a.parameters().stream().map(ParameterLayout.Spec::name).toList());
        long backbone = 32 * 9 + 64 + 32 * 64 * 9 + 128 + 64 * 128 * 9 + 256;
        // 7x7 map -> 4x4 max pool with stride 3 -> 2x2 grid of 128 channels -> 512 features; MLP head 512-512-128
        assertEquals(backbone + 512 * 512 + 512 + 128 * 512 + 128, a.parameterCount());
        assertEquals(512, a.featureDim());
    }

    @Test
    void weightsDecayNormAndBiasAreExemptUnlessAsked() {
        for (DecayPolicy policy : DecayPolicy.values()) {
            Architecture a = Encoders.create("resnet18", Stem.IMAGENET, 3, HeadKind.V1, 10, policy);
            for (ParameterLayout.Spec s : a.parameters()) {
                ParameterArena.Kind want;
                if (s.name().endsWith("running_mean") || s.name().endsWith("running_var"))
                    want = ParameterArena.Kind.STATE;
                else if (s.shape().length > 1 || policy == DecayPolicy.DECAY_ALL) want = ParameterArena.Kind.DECAYED;
                else want = ParameterArena.Kind.EXEMPT;
                assertEquals(want, s.kind(), policy + " " + s.name());
            }
        }
    }

    @Test
    void idsNameEveryChoice() {
        assertEquals("resnet18-cifar-c3-v2-d128", Encoders.create("resnet18", Stem.CIFAR, 3, HeadKind.V2, 128).id());
        assertEquals("resnet50-imagenet-c1-v1-d64",
                Encoders.create("resnet50", Stem.IMAGENET, 1, HeadKind.V1, 64).id());
        assertEquals("small-c1-v2-d128", Encoders.create("small", Stem.CIFAR, 1, HeadKind.V2, 128).id());
        assertNotEquals(Encoders.create("small", Stem.CIFAR, 1, HeadKind.V1, 128).id(),
                Encoders.create("small", Stem.CIFAR, 3, HeadKind.V1, 128).id());
    }

    @Test
    void misuseIsRejectedWithACause() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Encoders.create("vgg", Stem.CIFAR, 3, HeadKind.V1, 128));
        assertTrue(e.getMessage().contains("vgg"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Encoders.create("small", Stem.CIFAR, 0, HeadKind.V1, 128));
        assertThrows(IllegalArgumentException.class, () -> Encoders.create("small", Stem.CIFAR, 1, HeadKind.V1, 0));
        Architecture small = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V1, 128);
        Architecture other = Encoders.create("small", Stem.CIFAR, 3, HeadKind.V1, 128);
        try (CpuBackend backend = new CpuBackend(); ParameterArena arena = other.arenaLayout().build(backend, false)) {
            var bind = assertThrows(IllegalArgumentException.class, () -> small.bind(arena));
            assertTrue(bind.getMessage().contains("conv1.weight"), bind.getMessage());
            assertThrows(IllegalArgumentException.class, () -> small.initialize(arena, 1));
        }
        assertThrows(IllegalArgumentException.class, () -> Mode.train(0));
        assertThrows(IllegalArgumentException.class, () -> new Mode(false, 2));
    }
}
