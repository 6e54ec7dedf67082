package dev.jmoco.cli;

import dev.jmoco.train.Setting;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.TrainSettings;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * The settings of a training run as command-line options, shared by {@code train} and {@code profile}: picocli
 * adds one option per setting of {@link TrainSettings} to the command, with its help and default, so an option
 * is declared nowhere else. Each is optional (null: not given); {@link #apply} sets the given ones.
 */
final class TrainOptions implements CommandLine.IModelTransformer {

    @Override
    public CommandSpec transform(CommandSpec spec) {
        for (Setting<?> s : TrainSettings.all()) spec.addOption(option(s));
        return spec;
    }

    /** The option of {@code s}; its default is a help line of its own, so wrapping never splits it. */
    static OptionSpec option(Setting<?> s) {
        List<String> lines = new ArrayList<>(List.of(s.help().split("\n")));
        lines.add("Default: " + s.text(s.defaultValue()) + ".");
        OptionSpec.Builder b = OptionSpec.builder(s.option()).paramLabel(s.label()).type(s.cliType())
                .description(lines.toArray(String[]::new));
        if (s.type() == Boolean.class) b.arity("0..1").fallbackValue("true");
        if (s.type() == int[].class) b.splitRegex(",");
        return b.build();
    }

    /** Refuses a data set other than Fashion-MNIST without its folder (the default folder holds Fashion-MNIST). */
    static void requireDataDir(CommandSpec spec) {
        Object dataset = given(spec, TrainSettings.DATASET);
        if (dataset != null && !dataset.equals("fashion-mnist") && given(spec, TrainSettings.DATA_DIR) == null)
            throw new IllegalArgumentException("--data-dir is required for dataset " + dataset
                    + " (the default folder holds Fashion-MNIST)");
    }

    /** Sets on {@code b} every setting given on the command line of {@code spec}. */
    static void apply(CommandSpec spec, TrainConfig.Builder b) {
        for (Setting<?> s : TrainSettings.all()) apply(spec, s, b);
    }

    private static <T> void apply(CommandSpec spec, Setting<T> s, TrainConfig.Builder b) {
        Object v = given(spec, s);
        if (v != null) b.set(s, s.fromCli(v));
    }

    /** The option's value as picocli converted it, or null when it was not given. */
    private static Object given(CommandSpec spec, Setting<?> s) { return spec.findOption(s.option()).getValue(); }
}
