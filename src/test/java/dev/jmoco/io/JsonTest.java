package dev.jmoco.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The JSON reader's values and its refusals of hostile input, each with a one-line message. */
class JsonTest {
    private static String failure(String text) {
        String m = assertThrows(IllegalArgumentException.class, () -> Json.parse(text)).getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        return m;
    }

    @Test void readsEveryKindOfValue() {
        Object v = Json.parse(" {\"a\": [1, -2.5, true, false, null, \"t\\u00e9\\n\"], \"b\": {}} ");
        assertEquals(Map.of("a", java.util.Arrays.asList(1L, -2.5, true, false, null, "t\u00e9\n"), "b", Map.of()), v);
    }

    @Test void nestingAtTheLimitIsRead() {
        String deep = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Object v = Json.parse(deep);
        for (int i = 1; i < Json.MAX_DEPTH; i++) v = ((List<?>) v).getFirst();
        assertEquals(List.of(), v);
    }

    @Test void nestingTenThousandDeepIsRefusedNotAStackOverflow() {
        // the 65th bracket, at character 64, is one level too many
        assertEquals("bad JSON at character 64: nested deeper than 64 levels", failure("[".repeat(10_000)));
        assertEquals("bad JSON at character 320: nested deeper than 64 levels",
                failure("{\"k\":".repeat(10_000) + "1" + "}".repeat(10_000)));
    }

    @Test void infiniteNumbersAreRefused() {
        assertEquals("bad JSON at character 5: number \"1e999\" is out of range", failure("{\"a\":1e999}"));
        assertEquals("bad JSON at character 1: number \"-1e999\" is out of range", failure("[-1e999]"));
        assertEquals(0.0, Json.parse("1e-999")); // underflow to zero is a finite reading
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808")); // past long: a double
    }

    @Test void unicodeEscapesTakeExactlyFourHexDigits() {
        assertEquals("\u0123", Json.parse("\"\\u0123\""));
        assertTrue(failure("\"\\u+123\"").endsWith("bad \\u escape"));   // Integer.parseInt would accept the sign
        assertTrue(failure("\"\\u\uff11234\"").endsWith("bad \\u escape")); // a full-width digit
        assertTrue(failure("\"\\u12\"").contains("escape"));
    }

    @Test void messagesQuoteHostileTextOnOneLineAndShort() {
        String m = failure("{\"a\\nb\":1,\"a\\nb\":2}");
        assertEquals("bad JSON at character 10: duplicate key \"a\\u000ab\"", m);
        String longKey = "k".repeat(100_000);
        String dup = failure("{\"" + longKey + "\":1,\"" + longKey + "\":2}");
        assertTrue(dup.length() < 200, dup);
        assertTrue(failure("[\u2028x]").contains("unexpected character \"\\u2028\""));
        assertTrue(failure("\"a\u0001\"").contains("control character U+0001"));
    }
}
