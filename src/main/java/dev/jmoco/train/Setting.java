package dev.jmoco.train;

import dev.jmoco.io.Json;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;

/**
 * One training setting, declared once in {@link TrainSettings}: its name in checkpoint.json and summary.json,
 * its command-line option with help and default, how its value reads back from a checkpoint's text and is
 * written as JSON, and its range check.
 *
 * @param <T> the value's type (boxed)
 */
public final class Setting<T> {
    private final Class<T> type;
    private final String key, option, label, help;
    private final T defaultValue;
    private final Function<String, T> parse;
    private final Function<T, Object> json;
    private final Function<T, String> check;

    /**
     * @param type    the value's class
     * @param key     the name in checkpoint metadata, checkpoint.json and summary.json
     * @param option  the command-line option, e.g. "--epochs"
     * @param label   the option's parameter label in help, e.g. "N"
     * @param def     the default
     * @param help    the option's help (the default is added to it)
     * @param parse   the value from its text (a checkpoint's metadata, or the CLI for non-picocli types)
     * @param json    the JSON-friendly value {@link TrainConfig#asMap} writes
     * @param check   the error message for an out-of-range value, or null when it is in range
     */
    Setting(Class<T> type, String key, String option, String label, T def, String help, Function<String, T> parse,
            Function<T, Object> json, Function<T, String> check) {
        this.type = type;
        this.key = key;
        this.option = option;
        this.label = label;
        this.defaultValue = def;
        this.help = help;
        this.parse = parse;
        this.json = json;
        this.check = check;
    }

    public String key() { return key; }

    public String option() { return option; }

    public String label() { return label; }

    public String help() { return help; }

    public Class<T> type() { return type; }

    public T defaultValue() { return defaultValue; }

    /** The value the text of its {@link #json} form reads back as. */
    public T parse(String text) { return parse.apply(text); }

    Object json(T value) { return json.apply(value); }

    /**
     * The class picocli converts the option's argument to: the value's own where picocli knows it; String for
     * the others, which {@link #fromCli} parses when the command runs (so their errors read as before).
     */
    public Class<?> cliType() {
        return type == Integer.class || type == Long.class || type == Float.class || type == Double.class
                || type == Boolean.class || type == String.class || type == int[].class
                || type == java.nio.file.Path.class ? type : String.class;
    }

    /** The value of a command-line argument as picocli converted it to {@link #cliType}. */
    public T fromCli(Object v) { return type.isInstance(v) ? type.cast(v) : parse((String) v); }

    /**
     * Throws unless {@code value} is set and in range.
     *
     * @throws IllegalArgumentException naming the setting, the limit and the value
     */
    void validate(Object value) {
        if (value == null) throw new IllegalArgumentException(key.replace('_', ' ') + " is not set");
        String message = check.apply(type.cast(value));
        if (message != null) throw new IllegalArgumentException(message);
    }

    /** The value as help shows it: numbers in plain notation, NaN as "recipe", no milestones as "none". */
    public String text(Object value) {
        return switch (value) {
            case Float f when f.isNaN() -> "recipe";
            case Double d when d.isNaN() -> "recipe";
            case Float f -> new BigDecimal(f.toString()).stripTrailingZeros().toPlainString();
            case Double d -> BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
            case int[] a when a.length == 0 -> "none";
            case int[] a -> String.join(",", Arrays.stream(a).mapToObj(Integer::toString).toList());
            default -> String.valueOf(type.isInstance(value) ? json(type.cast(value)) : value);
        };
    }

    /** The check of a choice among {@code allowed}, with the message naming them. */
    static Function<String, String> oneOf(String what, String... allowed) {
        return v -> Arrays.asList(allowed).contains(v) ? null
                : "unknown " + what + " '" + Json.visible(v) + "' (" + String.join(", ", allowed) + ")";
    }

    @Override public String toString() { return key; }

    @Override public boolean equals(Object o) { return o instanceof Setting<?> s && s.key.equals(key); }

    @Override public int hashCode() { return Objects.hash(key); }
}
