package dev.jmoco.cli;

import dev.jmoco.moco.Mechanism;
import dev.jmoco.nn.DecayPolicy;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.train.Setting;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.TrainSettings;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The settings table as train's and profile's options: each one there, its default in help, applied when given. */
class TrainOptionsTest {

    @Test
    void everySettingIsAnOptionWithItsDefaultInHelp() {
        for (String command : List.of("train", "profile")) {
            String help = CliRun.of(command, "--help").out();
            for (Setting<?> s : TrainSettings.all()) {
                String block = optionBlock(help, s.option());
                assertNotNull(block, command + " --help lacks " + s.option() + ":\n" + help);
                assertTrue(block.contains("Default: " + s.text(s.defaultValue()) + "."), block);
            }
        }
    }

    @Test
    void deviceNamesAreNotBrokenByWrapping() {
        for (String command : List.of("train", "profile", "eval", "embed")) {
            String help = CliRun.of(command, "--help").out();
            for (String name : List.of("opencl:cpu", "cuda[:N][:kernels][:tf32][:portable][:profile]"))
                assertTrue(help.contains(name), command + " --help breaks " + name + ":\n" + help);
        }
    }

    @Test
    void givenOptionsAreSetAndTheOthersKeepTheBuildersValues() {
        CommandLine cli = new CommandLine(new TrainCommand());
        cli.parseArgs("--epochs", "3", "--decay", "all", "--milestones", "2,4", "--head", "v1", "--symmetric",
                "--mechanism", "moco", "--crop-min", "0.5", "--data-dir", "/d");
        TrainConfig.Builder b = TrainConfig.builder().batch(128).epochs(7);
        TrainOptions.apply(cli.getCommandSpec(), b);
        TrainConfig c = b.build();
        assertEquals(3, c.epochs());
        assertEquals(128, c.batch(), "not given: the builder's (a resumed run's) value stays");
        assertEquals(DecayPolicy.DECAY_ALL, c.decay());
        assertArrayEquals(new int[] {2, 4}, c.milestones());
        assertEquals(HeadKind.V1, c.head());
        assertTrue(c.symmetric());
        assertEquals(Mechanism.MOCO, c.mechanism());
        assertEquals(0.5, c.cropScaleMin());
        assertEquals("/d", c.dataDir().toString());
    }

    @Test
    void badValuesOfParsedSettingsFailWithTheirMessage() {
        CliRun r = CliRun.of("train", "--head", "v3", "--epochs", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown head 'v3' (v1, v2, bn)"), r.err());
        r = CliRun.of("train", "--decay", "some", "--epochs", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown decay 'some' (weights, all)"), r.err());
    }

    /** The help lines of {@code option}: its line and the continuation lines below it, or null. */
    private static String optionBlock(String help, String option) {
        List<String> lines = help.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).trim().startsWith(option + "=") && !lines.get(i).trim().startsWith(option + "["))
                continue;
            StringBuilder b = new StringBuilder(lines.get(i));
            for (int j = i + 1; j < lines.size() && !lines.get(j).trim().startsWith("-"); j++)
                b.append('\n').append(lines.get(j));
            return b.toString();
        }
        return null;
    }
}
