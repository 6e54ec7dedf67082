package dev.jmoco.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.jmoco.testing.FuzzCase;
import dev.jmoco.testing.Mutator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link Json#parse} on seeded mutations of JSON like safetensors headers and jmoco's own files: each either
 * parses to a value that writes back to the same value, or is refused with a one-line
 * IllegalArgumentException that gives an offset inside the text.
 */
class JsonFuzzTest {
    private static final int CASES = 600;
    private static final long SEED = 0x5EED_0001L;
    private static final List<String> SEEDS = List.of(
            "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"tab\\t quote \\\" \\u00e9\"},"
                    + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                    + "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]}}    ",
            "{\"epoch\": 3, \"loss\": -1.25e-3, \"done\": false, \"best\": null, \"curve\": [[0, 1.5], [1, 0.75]]}",
            "[1, \"two\", [3, [4, {\"five\": 5}]], true]");
    private static final Pattern OFFSET = Pattern.compile("^bad JSON at character (\\d+): .+");

    @Test void mutatedJsonParsesConsistentlyOrIsRefusedOnOneLine() {
        Mutator mutator = new Mutator(SEED);
        FuzzCase.Tally tally = new FuzzCase.Tally();
        for (int i = 0; i < CASES; i++) {
            Mutator.TextMutant m = mutator.mutateJson(SEEDS.get(i % SEEDS.size()));
            String name = "case " + i + " (" + m.how() + ")";
            FuzzCase.run(name, () -> Json.parse(m.text()), IllegalArgumentException.class, "bad JSON at character ",
                    value -> assertEquals(value, Json.parse(write(value)), name + ": written back"), tally);
            checkOffset(name, m.text());
        }
        assertTrue(tally.accepted() > 0 && tally.refused() > 0, "both outcomes occur: " + tally);
    }

    /** A refusal's offset lies within the text (the message is checked by FuzzCase). */
    private static void checkOffset(String name, String text) {
        try {
            Json.parse(text);
        } catch (IllegalArgumentException e) {
            Matcher mm = OFFSET.matcher(e.getMessage());
            if (!mm.matches()) fail(name + ": message without an offset: " + e.getMessage());
            int at = Integer.parseInt(mm.group(1));
            assertTrue(at >= 0 && at <= text.length(), name + ": offset " + at + " outside the text");
        }
    }

    /** {@code value} as JSON text, for the round trip. */
    private static String write(Object value) {
        return switch (value) {
            case null -> "null";
            case String s -> Json.quote(s);
            case Map<?, ?> map -> {
                StringBuilder b = new StringBuilder("{");
                for (Map.Entry<?, ?> e : map.entrySet())
                    b.append(b.length() > 1 ? "," : "").append(Json.quote((String) e.getKey())).append(':')
                            .append(write(e.getValue()));
                yield b.append('}').toString();
            }
            case List<?> list -> {
                StringBuilder b = new StringBuilder("[");
                for (Object v : list) b.append(b.length() > 1 ? "," : "").append(write(v));
                yield b.append(']').toString();
            }
            default -> value.toString(); // Long, Double (finite), Boolean
        };
    }
}
