namespace Realtime.Server.Notifications;

/// <summary>
/// Which JSON numbers PostgreSQL's jsonb can store. jsonb keeps numbers as <c>numeric</c>, which
/// holds up to 131,072 digits before the decimal point and 16,383 after it (its display scale,
/// trailing zeros included), with an exponent of magnitude below 2^30 while parsing. Outside
/// that (<c>1e999999</c>, <c>1e-20000</c>) the cast fails with "value overflows numeric format",
/// which inside a group commit would fail every send of the transaction: such data is refused
/// at validation instead. Checked against PostgreSQL itself by the integration tests.
/// </summary>
internal static class JsonbNumbers
{
    public const int MaxIntegerDigits = 131_072;
    public const int MaxFractionDigits = 16_383;

    /// <summary>numeric_in refuses exponents of this magnitude and more, even for zero.</summary>
    private const long ExponentLimit = int.MaxValue / 2;

    /// <summary>True when <paramref name="json"/> (a valid JSON number token) fits PostgreSQL's numeric.</summary>
    public static bool IsStorable(string json) => StoredLength(json) is not null;

    /// <summary>
    /// How many characters PostgreSQL writes out for <paramref name="json"/> (it keeps no exponent:
    /// <c>1e5000</c> is read back as 5,001 digits), or null when numeric cannot hold it.
    /// </summary>
    public static long? StoredLength(string json)
    {
        var sign = json.StartsWith('-') ? 1 : 0;
        var text = json.AsSpan();
        if (text.Length > 0 && text[0] == '-')
        {
            text = text[1..];
        }
        var exponentAt = text.IndexOfAny('e', 'E');
        var mantissa = exponentAt < 0 ? text : text[..exponentAt];
        long exponent = 0;
        if (exponentAt >= 0)
        {
            var digits = text[(exponentAt + 1)..];
            var negative = digits.Length > 0 && digits[0] == '-';
            if (digits.Length > 0 && digits[0] is '-' or '+')
            {
                digits = digits[1..];
            }
            digits = digits.TrimStart('0');
            if (digits.Length > 10)
            {
                return null; // far beyond any limit below
            }
            exponent = digits.Length == 0 ? 0 : long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
            if (negative)
            {
                exponent = -exponent;
            }
        }
        if (Math.Abs(exponent) >= ExponentLimit)
        {
            return null;
        }

        var point = mantissa.IndexOf('.');
        var integer = point < 0 ? mantissa : mantissa[..point];
        var fraction = point < 0 ? [] : mantissa[(point + 1)..];

        // Digits after the decimal point once the exponent is applied (PostgreSQL keeps trailing zeros).
        var scale = Math.Max(0, fraction.Length - exponent);
        if (scale > MaxFractionDigits)
        {
            return null;
        }
        var fractionLength = scale > 0 ? 1 + scale : 0;

        // The decimal position of the most significant non-zero digit (0 for the ones place).
        long position;
        var significantInteger = integer.TrimStart('0');
        if (significantInteger.Length > 0)
        {
            position = significantInteger.Length - 1;
        }
        else
        {
            var firstNonZero = fraction.IndexOfAnyExcept('0');
            if (firstNonZero < 0)
            {
                return 1 + fractionLength; // zero: only the scale and the exponent matter
            }
            position = -(firstNonZero + 1);
        }
        if (position + exponent >= MaxIntegerDigits)
        {
            return null;
        }
        return sign + Math.Max(1, position + exponent + 1) + fractionLength;
    }
}
