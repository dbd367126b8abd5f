package io.datapipeline.parser;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.expressions.variant.VariantCastArgs;
import org.apache.spark.sql.catalyst.expressions.variant.VariantGet$;
import org.apache.spark.sql.catalyst.util.DateTimeUtils$;
import org.apache.spark.sql.catalyst.util.MapData;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.types.variant.Variant;
import org.apache.spark.types.variant.VariantBuilder;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Parses and validates one raw Kafka record value (UTF-8 JSON bytes) against the event contract:
 * the JVM side of {@code datapipeline.ingest.parse.parse_events}.
 *
 * <p>Returns one struct: {@code reasons} (every failing rule, in the contract's order; empty when
 * valid) and the typed event columns (NULL unless valid), in the order the config's {@code
 * columns} lists them. Every constant (limits, enumerations, regexes, reason strings, the column
 * order) comes from Python (datapipeline.events.contract) as one JSON config string: nothing of the
 * contract is written here, only how each field is checked.
 *
 * <p>The JSON is read with Jackson's streaming parser, the parser Spark's {@code parse_json} uses
 * (the same default {@link JsonFactory}, so the same limits), with strict duplicate detection. The
 * JSON types and the numeric conversions are those of Spark's VARIANT: an integer that fits a
 * long is an integer, a number without exponent of at most 38 digits (and scale) is a decimal,
 * anything else a double; conversions to decimal(18,2)/decimal(38,18)/double/int are Spark's
 * TRY casts ({@link Decimal#changePrecision}, HALF_UP; NULL on overflow).
 */
public final class EventParser implements UDF1<byte[], Row>, Serializable {
  private static final long serialVersionUID = 1L;

  private static final int LONG = 1;
  private static final int DECIMAL = 2;
  private static final int DOUBLE = 3;

  /** A JSON number as Spark's VARIANT holds it. */
  private static final class Num {
    final int kind;
    final long l;
    final BigDecimal bd;
    final double d;

    Num(int kind, long l, BigDecimal bd, double d) {
      this.kind = kind;
      this.l = l;
      this.bd = bd;
      this.d = d;
    }
  }

  /** JSON null (a VARIANT null: reads as VOID, i.e. missing). */
  private static final Object JSON_NULL = new Object();

  private static final class InvalidJson extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidJson() {
      super(null, null, false, false);
    }
  }

  private static final InvalidJson INVALID_JSON = new InvalidJson();

  private final String configJson;
  private transient Config config;

  public EventParser(String configJson) {
    this.configJson = configJson;
    this.config = new Config(configJson);
  }

  private Config config() {
    Config c = config;
    if (c == null) {
      c = new Config(configJson);
      config = c;
    }
    return c;
  }

  /** Everything read from the config, built once per deserialized instance. */
  private static final class Config {
    final JsonFactory factory =
        JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    final int maxValueBytes;
    final int maxNestingDepth;
    final long schemaVersion;
    final Set<String> eventTypes;
    final Set<String> currencies;
    final Set<String> fields;
    final Pattern controlCharacters;
    final Pattern eventTimePattern;
    final Pattern loneSurrogateEscape;
    final Pattern countryPattern;
    final ZoneId zoneId;
    final String zone;
    final long minEventTime;
    final long maxEventTime;
    final Map<String, String> reasons;
    final Map<String, String> missing;
    final Map<String, String> wrongType;
    final Map<String, String> invalidValue;
    final String[] columns;

    @SuppressWarnings("unchecked")
    Config(String json) {
      Map<String, Object> c;
      try (JsonParser p = factory.createParser(json)) {
        c = (Map<String, Object>) read(p, p.nextToken(), 0, Integer.MAX_VALUE, new int[1]);
      } catch (IOException | InvalidJson e) {
        throw new IllegalArgumentException("EventParser: bad config " + json, e);
      }
      maxValueBytes = (int) ((Num) c.get("max_value_bytes")).l;
      maxNestingDepth = (int) ((Num) c.get("max_nesting_depth")).l;
      schemaVersion = ((Num) c.get("schema_version")).l;
      eventTypes = new HashSet<>((List<String>) c.get("event_types"));
      currencies = new HashSet<>((List<String>) c.get("currencies"));
      fields = new HashSet<>((List<String>) c.get("fields"));
      controlCharacters = Pattern.compile((String) c.get("control_characters"));
      eventTimePattern = Pattern.compile((String) c.get("event_time_pattern"));
      loneSurrogateEscape = Pattern.compile((String) c.get("lone_surrogate_escape"));
      countryPattern = Pattern.compile((String) c.get("country_pattern"));
      zone = (String) c.get("time_zone");
      zoneId = DateTimeUtils$.MODULE$.getZoneId(zone);
      minEventTime = toTimestamp((String) c.get("min_event_time"), zoneId);
      maxEventTime = toTimestamp((String) c.get("max_event_time"), zoneId);
      reasons = (Map<String, String>) (Map<String, ?>) c.get("reasons");
      missing = (Map<String, String>) (Map<String, ?>) c.get("missing_field");
      wrongType = (Map<String, String>) (Map<String, ?>) c.get("wrong_type");
      invalidValue = (Map<String, String>) (Map<String, ?>) c.get("invalid_value");
      columns = ((List<String>) c.get("columns")).toArray(new String[0]);
    }

    String reason(String code) {
      String r = reasons.get(code);
      if (r == null) {
        throw new IllegalStateException("EventParser: no reason " + code + " in the config");
      }
      return r;
    }
  }

  // ------------------------------------------------------------------------------------ JSON

  /** Spark stores strings as UTF-8: an unpaired surrogate (only from an escape) becomes '?'. */
  private static String utf8(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.isSurrogate(s.charAt(i))) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
      }
    }
    return s;
  }

  /**
   * The value starting at {@code token}: LinkedHashMap (object), ArrayList (array), String, Num,
   * Boolean or JSON_NULL. {@code depth}: arrays/objects around it.
   */
  private static Object read(JsonParser p, JsonToken token, int depth, int maxDepth, int[] deepest)
      throws IOException, InvalidJson {
    if (token == null) {
      throw INVALID_JSON;
    }
    switch (token) {
      case START_OBJECT: {
        if (depth + 1 > maxDepth) {
          throw INVALID_JSON;
        }
        deepest[0] = Math.max(deepest[0], depth + 1);
        LinkedHashMap<String, Object> map = new LinkedHashMap<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
          if (t != JsonToken.FIELD_NAME) {
            throw INVALID_JSON;
          }
          String key = utf8(p.currentName());
          map.put(key, read(p, p.nextToken(), depth + 1, maxDepth, deepest));
        }
        return map;
      }
      case START_ARRAY: {
        if (depth + 1 > maxDepth) {
          throw INVALID_JSON;
        }
        deepest[0] = Math.max(deepest[0], depth + 1);
        ArrayList<Object> list = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
          list.add(read(p, t, depth + 1, maxDepth, deepest));
        }
        return list;
      }
      case VALUE_STRING:
        return utf8(p.getText());
      case VALUE_NUMBER_INT:
        try {
          return new Num(LONG, p.getLongValue(), null, 0);
        } catch (InputCoercionException e) {
          return floating(p);
        }
      case VALUE_NUMBER_FLOAT:
        return floating(p);
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return JSON_NULL;
      default:
        throw INVALID_JSON;
    }
  }

  /** Spark's VariantBuilder.parseFloatingPoint: a decimal when exact in decimal(38), else double. */
  private static Num floating(JsonParser p) throws IOException {
    String text = p.getText();
    boolean plain = true;
    for (int i = 0; i < text.length() && plain; i++) {
      char ch = text.charAt(i);
      plain = ch == '-' || ch == '.' || (ch >= '0' && ch <= '9');
    }
    if (plain) {
      BigDecimal d = new BigDecimal(text);
      if (d.scale() <= 38 && d.precision() <= 38) {
        return new Num(DECIMAL, 0, d, 0);
      }
    }
    return new Num(DOUBLE, 0, null, p.getDoubleValue());
  }

  // ------------------------------------------------------------------------------------ casts

  private static boolean isNumber(Object o) {
    return o instanceof Num;
  }

  private static boolean isLong(Object o) {
    return o instanceof Num && ((Num) o).kind == LONG;
  }

  /** TRY cast to int (only integers are read as int). */
  private static Integer toInt(Num n) {
    if (n.kind == LONG && n.l >= Integer.MIN_VALUE && n.l <= Integer.MAX_VALUE) {
      return (int) n.l;
    }
    return null;
  }

  /** TRY cast to decimal(precision, scale): NULL on overflow (or infinity). */
  private static Decimal toDecimal(Num n, int precision, int scale) {
    Decimal d;
    switch (n.kind) {
      case LONG:
        d = Decimal.apply(n.l);
        break;
      case DECIMAL:
        d = Decimal.apply(n.bd);
        break;
      default:
        try {
          d = Decimal.apply(n.d);
        } catch (NumberFormatException e) {
          return null;
        }
    }
    return d.changePrecision(precision, scale) ? d : null;
  }

  private static double toDouble(Num n) {
    switch (n.kind) {
      case LONG:
        return (double) n.l;
      case DECIMAL:
        return Decimal.apply(n.bd).toDouble();
      default:
        return n.d;
    }
  }

  /** Spark's double equality (-0.0 equals 0.0, NaN equals NaN). */
  private static boolean doubleEquals(double a, double b) {
    return a == b || Double.compare(a, b) == 0;
  }

  /** The number is exactly its decimal(18,2) (no digit rounded away); false when NULL. */
  private static boolean twoDecimals(Num n, Decimal money) {
    if (money == null) {
      return false;
    }
    if (n.kind == DOUBLE) {
      return doubleEquals(money.toDouble(), n.d);
    }
    Decimal exact = toDecimal(n, 38, 18);
    return exact != null && money.compare(exact) == 0;
  }

  private static Long toTimestamp(String s, ZoneId zoneId) {
    scala.Option<Object> t = DateTimeUtils$.MODULE$.stringToTimestamp(UTF8String.fromString(s), zoneId);
    return t.isDefined() ? (Long) t.get() : null;
  }

  // ------------------------------------------------------------------------------------ checks

  private static boolean present(Object o) {
    return o != null && o != JSON_NULL;
  }

  private boolean identifier(Config c, String s) {
    return !s.isEmpty() && !c.controlCharacters.matcher(s).find();
  }

  /** missing / wrong_type / invalid_value of a string field. */
  private static void checkString(
      Config c, List<String> reasons, String path, Object o, java.util.function.Predicate<String> ok) {
    if (!present(o)) {
      reasons.add(c.missing.get(path));
    } else if (!(o instanceof String)) {
      reasons.add(c.wrongType.get(path));
    } else if (!ok.test((String) o)) {
      reasons.add(c.invalidValue.get(path));
    }
  }

  private Row result(Config c, List<String> reasons, Map<String, Object> typed) {
    Object[] values = new Object[c.columns.length + 1];
    values[0] = reasons;
    if (typed != null) {
      for (int i = 0; i < c.columns.length; i++) {
        values[i + 1] = typed.get(c.columns[i]);
      }
    }
    return RowFactory.create(values);
  }

  private Row invalid(Config c, String reason) {
    List<String> reasons = new ArrayList<>(1);
    reasons.add(reason);
    return result(c, reasons, null);
  }

  /**
   * Deeper documents (up to the nesting limit) are rendered on a thread of their own with a
   * large stack: Spark's variant code recurses per level with large frames, and a
   * StackOverflowError on a task thread takes the whole executor down.
   */
  private static final int SHALLOW = 64;

  private static final long LARGE_STACK_BYTES = 256L << 20;

  private interface Work<T> {
    T run() throws Exception;
  }

  private static <T> T onLargeStack(Work<T> work) throws Exception {
    Object[] out = new Object[1];
    Throwable[] failure = new Throwable[1];
    Thread t =
        new Thread(
            null,
            () -> {
              try {
                out[0] = work.run();
              } catch (Throwable e) {
                failure[0] = e;
              }
            },
            "datapipeline-parser-deep",
            LARGE_STACK_BYTES);
    t.start();
    t.join();
    if (failure[0] instanceof Exception) {
      throw (Exception) failure[0];
    } else if (failure[0] != null) {
      throw new IllegalStateException(failure[0]);
    }
    @SuppressWarnings("unchecked")
    T result = (T) out[0];
    return result;
  }

  @Override
  public Row call(byte[] value) throws Exception {
    try {
      return evaluate(value);
    } catch (StackOverflowError e) {
      // Only from a nesting this thread's stack cannot hold: the same on a thread that can.
      return onLargeStack(() -> evaluate(value));
    }
  }

  @SuppressWarnings("unchecked")
  private Row evaluate(byte[] value) throws Exception {
    Config c = config();
    if (value != null && value.length > c.maxValueBytes) {
      return invalid(c, c.reason("value_too_large"));
    }
    if (value == null || value.length == 0) {
      return invalid(c, c.reason("empty_value"));
    }
    UTF8String utf8 = UTF8String.fromBytes(value);
    if (!utf8.isValid()) {
      return invalid(c, c.reason("invalid_utf8"));
    }
    if (value.length >= 3 && value[0] == (byte) 0xEF && value[1] == (byte) 0xBB && value[2] == (byte) 0xBF) {
      return invalid(c, c.reason("byte_order_mark"));
    }
    String text = utf8.toString();
    if ((text.contains("\\u") || text.contains("\\U")) && c.loneSurrogateEscape.matcher(text).find()) {
      return invalid(c, c.reason("invalid_json"));
    }
    Object root;
    int[] deepest = new int[1];
    try (JsonParser p = c.factory.createParser(text)) {
      root = read(p, p.nextToken(), 0, c.maxNestingDepth, deepest);
      if (p.nextToken() != null) {
        throw INVALID_JSON;
      }
    } catch (IOException | InvalidJson | RuntimeException e) {
      return invalid(c, c.reason("invalid_json"));
    }
    if (!(root instanceof Map)) {
      return invalid(c, c.reason("not_an_object"));
    }
    Map<String, Object> event = (Map<String, Object>) root;
    List<String> reasons = new ArrayList<>(2);

    // schema_version: an integer; a different int is unsupported (one beyond int reads as NULL).
    Object sv = event.get("schema_version");
    if (!present(sv)) {
      reasons.add(c.missing.get("schema_version"));
    } else if (!isLong(sv)) {
      reasons.add(c.wrongType.get("schema_version"));
    } else {
      Integer v = toInt((Num) sv);
      if (v != null && v != c.schemaVersion) {
        reasons.add(c.reason("unsupported_schema_version"));
      }
    }
    Object eventId = event.get("event_id");
    Object orderId = event.get("order_id");
    Object eventType = event.get("event_type");
    Object eventTimeRaw = event.get("event_time");
    checkString(c, reasons, "event_id", eventId, s -> identifier(c, s));
    checkString(c, reasons, "order_id", orderId, s -> identifier(c, s));
    checkString(c, reasons, "event_type", eventType, c.eventTypes::contains);
    Long eventTime = eventTimeRaw instanceof String ? toTimestamp((String) eventTimeRaw, c.zoneId) : null;
    checkString(
        c,
        reasons,
        "event_time",
        eventTimeRaw,
        s ->
            c.eventTimePattern.matcher(s).find()
                && eventTime != null
                && eventTime >= c.minEventTime
                && eventTime <= c.maxEventTime);
    Object customer = event.get("customer");
    Object customerId = null;
    Object country = null;
    if (!present(customer)) {
      reasons.add(c.missing.get("customer"));
    } else if (!(customer instanceof Map)) {
      reasons.add(c.wrongType.get("customer"));
    }
    if (customer instanceof Map) {
      customerId = ((Map<String, Object>) customer).get("customer_id");
      country = ((Map<String, Object>) customer).get("country");
      checkString(c, reasons, "customer.customer_id", customerId, s -> identifier(c, s));
      checkString(c, reasons, "customer.country", country, s -> c.countryPattern.matcher(s).find());
    }
    Object amountRaw = event.get("amount");
    Decimal amount = amountRaw instanceof Num ? toDecimal((Num) amountRaw, 18, 2) : null;
    if (!present(amountRaw)) {
      reasons.add(c.missing.get("amount"));
    } else if (!isNumber(amountRaw)) {
      reasons.add(c.wrongType.get("amount"));
    } else if (!(amount != null && amount.toJavaBigDecimal().signum() >= 0 && twoDecimals((Num) amountRaw, amount))) {
      reasons.add(c.invalidValue.get("amount"));
    }
    Object currency = event.get("currency");
    checkString(c, reasons, "currency", currency, c.currencies::contains);
    Object itemsRaw = event.get("items");
    List<Row> items = null;
    if (!present(itemsRaw)) {
      reasons.add(c.missing.get("items"));
    } else if (!(itemsRaw instanceof List)) {
      reasons.add(c.wrongType.get("items"));
    } else {
      items = items(c, (List<Object>) itemsRaw);
      if (items == null) {
        reasons.add(c.invalidValue.get("items"));
      }
    }
    if (!reasons.isEmpty()) {
      return result(c, reasons, null);
    }
    // amount == sum(quantity * unit_price), each step in decimal(18,2): the terms are >= 0, so a
    // total beyond decimal(18,2) can never equal the amount.
    BigDecimal total = BigDecimal.ZERO;
    BigDecimal limit = new BigDecimal("9999999999999999.99");
    boolean overflow = false;
    for (Row item : items) {
      total = total.add(BigDecimal.valueOf(item.getInt(1)).multiply(item.getDecimal(2)));
      if (total.compareTo(limit) > 0) {
        overflow = true;
        break;
      }
    }
    BigDecimal amountValue = amount.toJavaBigDecimal();
    if (overflow || total.compareTo(amountValue) != 0) {
      reasons.add(c.reason("amount_mismatch"));
      return result(c, reasons, null);
    }
    Map<String, Object> typed = new LinkedHashMap<>();
    typed.put("schema_version", toInt((Num) sv));
    typed.put("event_id", eventId);
    typed.put("order_id", orderId);
    typed.put("event_type", eventType);
    typed.put("event_time", Instant.EPOCH.plus(eventTime, java.time.temporal.ChronoUnit.MICROS));
    typed.put("customer_id", customerId);
    typed.put("customer_country", country);
    typed.put("amount", amountValue);
    typed.put("currency", currency);
    typed.put("items", items);
    typed.put("extras", deepest[0] > SHALLOW ? onLargeStack(() -> extras(c, event, text)) : extras(c, event, text));
    return result(c, reasons, typed);
  }

  /** The typed items, or null when any item breaks a rule. */
  @SuppressWarnings("unchecked")
  private List<Row> items(Config c, List<Object> raw) {
    if (raw.isEmpty()) {
      return null;
    }
    List<Row> out = new ArrayList<>(raw.size());
    for (Object o : raw) {
      if (!(o instanceof Map)) {
        return null;
      }
      Map<String, Object> item = (Map<String, Object>) o;
      Object sku = item.get("sku");
      Object quantity = item.get("quantity");
      Object price = item.get("unit_price");
      if (!(sku instanceof String) || !isLong(quantity) || !isNumber(price)) {
        return null;
      }
      String s = (String) sku;
      Integer q = toInt((Num) quantity);
      Decimal p = toDecimal((Num) price, 18, 2);
      if (!identifier(c, s) || q == null || q <= 0 || p == null || p.toJavaBigDecimal().signum() < 0) {
        return null;
      }
      // No digit rounded away: equal to its decimal(18,2) both exactly and as a double.
      Decimal exact = toDecimal((Num) price, 38, 18);
      if (exact == null || p.compare(exact) != 0 || !doubleEquals(p.toDouble(), toDouble((Num) price))) {
        return null;
      }
      out.add(RowFactory.create(s, q, p.toJavaBigDecimal()));
    }
    return out;
  }

  /**
   * Unknown top-level fields as name -> JSON text, exactly as Spark renders them (a variant read as
   * map&lt;string,string&gt;): only built for the events that have any.
   */
  private Map<String, String> extras(Config c, Map<String, Object> event, String text) throws IOException {
    boolean any = false;
    for (String key : event.keySet()) {
      if (!c.fields.contains(key)) {
        any = true;
        break;
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    if (!any) {
      return out;
    }
    Variant v = VariantBuilder.parseJson(text, false);
    VariantCastArgs args = new VariantCastArgs(false, scala.Option.apply(c.zone), c.zoneId);
    MapData map =
        (MapData)
            VariantGet$.MODULE$.cast(
                v, DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType), args);
    for (int i = 0; i < map.numElements(); i++) {
      String key = map.keyArray().getUTF8String(i).toString();
      if (!c.fields.contains(key)) {
        UTF8String val = map.valueArray().isNullAt(i) ? null : map.valueArray().getUTF8String(i);
        out.put(key, val == null ? null : val.toString());
      }
    }
    return out;
  }
}
