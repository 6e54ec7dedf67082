package dev.jmoco.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal JSON reader and string quoter, enough for safetensors headers and jmoco's own JSON files
 * (checkpoint.json, summary.json; written by the train package) without a dependency. Values map to
 * {@link LinkedHashMap} (key order kept), {@link List}, {@link String}, {@link Long} (integers that fit),
 * {@link Double} (other finite numbers), {@link Boolean} and {@code null}. Errors are
 * {@link IllegalArgumentException}s of one line that give the character offset; callers add the file name.
 *
 * <p>Input may be hostile (a downloaded checkpoint's header), so arrays and objects may nest at most
 * {@value #MAX_DEPTH} levels deep (the parser recurses once per level; a header nested 10,000 deep would
 * otherwise overflow the stack), numbers must be finite ({@code 1e999} is refused, not read as infinity), and
 * text quoted in an error message is escaped and shortened.
 */
public final class Json {
    /** The deepest nesting of arrays and objects accepted; safetensors headers need 3 levels. */
    public static final int MAX_DEPTH = 64;
    /** Characters of the input quoted at most in one error message. */
    private static final int EXCERPT_CHARS = 60;

    private final String text;
    private int pos;
    private int depth;

    private Json(String text) { this.text = text; }

    /** Parses one JSON value; only whitespace may follow it (safetensors pads headers with spaces). */
    public static Object parse(String text) {
        Json p = new Json(text);
        Object value = p.value();
        p.skipSpace();
        if (p.pos != text.length()) throw p.error("unexpected text after the JSON value");
        return value;
    }

    /** {@code s} as a JSON string literal. */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
                    else b.append(ch);
                }
            }
        }
        return b.append('"').toString();
    }

    private Object value() {
        skipSpace();
        if (pos >= text.length()) throw error("unexpected end of header");
        char ch = text.charAt(pos);
        return switch (ch) {
            case '{', '[' -> nested(ch);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (ch == '-' || (ch >= '0' && ch <= '9')) yield number();
                throw error("unexpected character " + excerpt(String.valueOf(ch)));
            }
        };
    }

    private Object nested(char open) {
        if (depth == MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH + " levels");
        depth++;
        Object value = open == '{' ? object() : array();
        depth--;
        return value;
    }

    private Map<String, Object> object() {
        Map<String, Object> map = new LinkedHashMap<>();
        pos++;
        skipSpace();
        if (peek() == '}') { pos++; return map; }
        while (true) {
            skipSpace();
            if (peek() != '"') throw error("expected a string key");
            int keyAt = pos;
            String key = string();
            skipSpace();
            expect(':');
            if (map.containsKey(key)) { pos = keyAt; throw error("duplicate key " + excerpt(key)); }
            map.put(key, value());
            skipSpace();
            if (peek() == ',') { pos++; continue; }
            expect('}');
            return map;
        }
    }

    private List<Object> array() {
        List<Object> list = new ArrayList<>();
        pos++;
        skipSpace();
        if (peek() == ']') { pos++; return list; }
        while (true) {
            list.add(value());
            skipSpace();
            if (peek() == ',') { pos++; continue; }
            expect(']');
            return list;
        }
    }

    private String string() {
        pos++;
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= text.length()) throw error("unterminated string");
            char ch = text.charAt(pos++);
            if (ch == '"') return b.toString();
            if (ch < 0x20) { pos--; throw error(String.format("control character U+%04X in string", (int) ch)); }
            if (ch != '\\') { b.append(ch); continue; }
            if (pos >= text.length()) throw error("unterminated string");
            char esc = text.charAt(pos++);
            switch (esc) {
                case '"', '\\', '/' -> b.append(esc);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (pos + 4 > text.length()) throw error("truncated \\u escape");
                    int code = 0;
                    for (int i = 0; i < 4; i++) {
                        int digit = Character.digit(text.charAt(pos + i), 16);
                        // Character.digit accepts non-ASCII digits; JSON allows only 0-9, a-f, A-F
                        if (digit < 0 || text.charAt(pos + i) > 'f') { pos -= 2; throw error("bad \\u escape"); }
                        code = code << 4 | digit;
                    }
                    b.append((char) code);
                    pos += 4;
                }
                default -> { pos -= 2; throw error("bad escape " + excerpt("\\" + esc)); }
            }
        }
    }

    private Object number() {
        int start = pos;
        if (peek() == '-') pos++;
        while (pos < text.length() && "0123456789+-.eE".indexOf(text.charAt(pos)) >= 0) pos++;
        String s = text.substring(start, pos);
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException notLong) {
            double d;
            try {
                d = Double.parseDouble(s);
            } catch (NumberFormatException e) {
                pos = start;
                throw error("bad number " + excerpt(s));
            }
            if (Double.isInfinite(d)) { pos = start; throw error("number " + excerpt(s) + " is out of range"); }
            return d;
        }
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, pos)) throw error("unexpected character " + excerpt(text.substring(pos, pos + 1)));
        pos += word.length();
        return value;
    }

    private void expect(char ch) {
        if (peek() != ch) throw error("expected '" + ch + "'");
        pos++;
    }

    private char peek() { return pos < text.length() ? text.charAt(pos) : '\0'; }

    private void skipSpace() {
        while (pos < text.length() && " \t\r\n".indexOf(text.charAt(pos)) >= 0) pos++;
    }

    /** {@code s} in double quotes for an error message of one line, as {@link #visible} shows it. */
    static String excerpt(String s) {
        return '"' + visible(s).replace("\"", "\\\"") + '"';
    }

    /**
     * {@code s} for an error message of one line: control, line-separator and other invisible characters
     * escaped as {@code \\uXXXX}, and cut to {@value #EXCERPT_CHARS} characters (then "...").
     */
    public static String visible(String s) {
        StringBuilder b = new StringBuilder();
        int n = Math.min(s.length(), EXCERPT_CHARS);
        for (int i = 0; i < n; i++) {
            char ch = s.charAt(i);
            int type = Character.getType(ch);
            boolean invisible = Character.isISOControl(ch) || Character.isSurrogate(ch)
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
            if (invisible) b.append(String.format("\\u%04x", (int) ch));
            else b.append(ch);
        }
        return s.length() > n ? b.append("...").toString() : b.toString();
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("bad JSON at character " + pos + ": " + what);
    }
}
