/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { formatFloat } from "@web/core/utils/numbers";

/**
 * Points as people write them, in the user's language: 1,250 or 12.50,
 * never 1,250.00 (as the server's format_points).
 */
export function formatPoints(points) {
    const value = points || 0;
    const whole = Math.abs(value - Math.round(value)) < 0.005;
    return formatFloat(value, { digits: [69, whole ? 0 : 2] });
}
