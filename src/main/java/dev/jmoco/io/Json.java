package dev.jmoco.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal JSON reader and string quoter, enough for safetensors headers and jmoco's own JSON files
 * (checkpoint.json, summary.json; written by the train package) without a dependency. Values map to
 * {@link LinkedHashMap} (key order kept), {@link List}, {@link String}, {@link Long} (integers that fit),
 * {@link Double} (other numbers), {@link Boolean} and {@code null}. Errors are {@link IllegalArgumentException}s
 * that give the character offset; callers add the file name.
 */
public final class Json {
    private final String text;
    private int pos;

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
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (ch == '-' || (ch >= '0' && ch <= '9')) yield number();
                throw error("unexpected character '" + ch + "'");
            }
        };
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
            if (map.containsKey(key)) { pos = keyAt; throw error("duplicate key \"" + key + "\""); }
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
            if (ch < 0x20) { pos--; throw error("control character in string"); }
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
                    try {
                        b.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException e) {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                }
                default -> { pos--; throw error("bad escape '\\" + esc + "'"); }
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
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                pos = start;
                throw error("bad number '" + s + "'");
            }
        }
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, pos)) throw error("unexpected character '" + text.charAt(pos) + "'");
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

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("bad JSON at character " + pos + ": " + what);
    }
}
