import CNcurses
import XCTest
import TUI
@testable import Terminal

final class KeyDecoderTests: XCTestCase {
    private func char(_ code: Int32) -> DecodedInput? { KeyDecoder.decode(code, isKeyCode: false) }
    private func keyCode(_ code: Int32) -> DecodedInput? { KeyDecoder.decode(code, isKeyCode: true) }

    func testPrintableCharacters() {
        XCTAssertEqual(char(0x61), .key(.char("a")))
        XCTAssertEqual(char(0x20), .key(.char(" ")))
        XCTAssertEqual(char(0x7E), .key(.char("~")))
        XCTAssertEqual(char(0xE9), .key(.char("é")))
        XCTAssertEqual(char(0x4E2D), .key(.char("中")))
        XCTAssertEqual(char(0x1F600), .key(.char("😀")))
    }

    func testEnterTabEscapeBackspace() {
        XCTAssertEqual(char(13), .key(.enter))
        XCTAssertEqual(char(10), .key(.enter))
        XCTAssertEqual(char(9), .key(.tab))
        XCTAssertEqual(char(27), .key(.escape))
        XCTAssertEqual(char(127), .key(.backspace))
        XCTAssertEqual(char(8), .key(.backspace))
    }

    func testControlLetters() {
        XCTAssertEqual(char(1), .key(.ctrl("a")))
        XCTAssertEqual(char(3), .key(.ctrl("c")))
        XCTAssertEqual(char(12), .key(.ctrl("l")))
        XCTAssertEqual(char(26), .key(.ctrl("z")))
        // Ctrl-H, Ctrl-I, Ctrl-J, Ctrl-M are backspace, tab, enter, enter.
        XCTAssertEqual(char(8), .key(.backspace))
        XCTAssertEqual(char(9), .key(.tab))
        XCTAssertEqual(char(10), .key(.enter))
        XCTAssertEqual(char(13), .key(.enter))
    }

    func testUnmappedCharacters() {
        XCTAssertNil(char(0))  // Ctrl-@ / Ctrl-Space
        for c: Int32 in 28...31 { XCTAssertNil(char(c), "\(c)") }
        XCTAssertNil(char(0x80))
        XCTAssertNil(char(0x9F))
        XCTAssertNil(char(0xD800))  // a lone surrogate is no scalar
        XCTAssertNil(char(-1))
        XCTAssertNil(char(0x11_0000))
    }

    func testNavigationKeyCodes() {
        XCTAssertEqual(keyCode(KEY_UP), .key(.up))
        XCTAssertEqual(keyCode(KEY_DOWN), .key(.down))
        XCTAssertEqual(keyCode(KEY_LEFT), .key(.left))
        XCTAssertEqual(keyCode(KEY_RIGHT), .key(.right))
        XCTAssertEqual(keyCode(KEY_HOME), .key(.home))
        XCTAssertEqual(keyCode(KEY_END), .key(.end))
        XCTAssertEqual(keyCode(KEY_PPAGE), .key(.pageUp))
        XCTAssertEqual(keyCode(KEY_NPAGE), .key(.pageDown))
        XCTAssertEqual(keyCode(KEY_IC), .key(.insert))
        XCTAssertEqual(keyCode(KEY_DC), .key(.delete))
        XCTAssertEqual(keyCode(KEY_BTAB), .key(.backTab))
        XCTAssertEqual(keyCode(KEY_BACKSPACE), .key(.backspace))
        XCTAssertEqual(keyCode(KEY_ENTER), .key(.enter))
    }

    func testFunctionKeys() {
        XCTAssertEqual(keyCode(KEY_F0 + 1), .key(.function(1)))
        XCTAssertEqual(keyCode(KEY_F0 + 12), .key(.function(12)))
        XCTAssertEqual(keyCode(KEY_F0 + 24), .key(.function(24)))
        XCTAssertNil(keyCode(KEY_F0))
        XCTAssertNil(keyCode(KEY_F0 + 25))
        XCTAssertEqual(saescope_key_f0(), KEY_F0)
    }

    func testResizeMouseAndUnknownKeyCodes() {
        XCTAssertEqual(keyCode(KEY_RESIZE), .resize)
        XCTAssertEqual(keyCode(KEY_MOUSE), .mouse)
        XCTAssertNil(keyCode(KEY_SLEFT))
        XCTAssertNil(keyCode(KEY_MAX + 5))  // a terminal-specific extended key (e.g. Ctrl-Up)
        // The same number as a character is a character, not a key code.
        XCTAssertEqual(char(KEY_UP), .key(.char(Character(Unicode.Scalar(UInt32(KEY_UP))!))))
    }

    // MARK: Mouse

    private func mouse(_ mask: mmask_t, x: Int32 = 7, y: Int32 = 3) -> MouseEvent? {
        KeyDecoder.decodeMouse(bstate: mask, x: x, y: y)
    }

    func testWheel() {
        XCTAssertEqual(mouse(saescope_button_pressed(4)), MouseEvent(.wheelUp, x: 7, y: 3))
        XCTAssertEqual(mouse(saescope_button_pressed(5)), MouseEvent(.wheelDown, x: 7, y: 3))
        XCTAssertNil(mouse(saescope_button_released(4)))
        XCTAssertNil(mouse(saescope_button_released(5)))
    }

    func testPressReleaseAndClicks() {
        for b in 1...3 {
            let n = Int32(b)
            XCTAssertEqual(mouse(saescope_button_pressed(n), x: 0, y: 0), MouseEvent(.press(button: b), x: 0, y: 0))
            XCTAssertEqual(mouse(saescope_button_released(n)), MouseEvent(.release(button: b), x: 7, y: 3))
            XCTAssertEqual(mouse(saescope_button_clicked(n)), MouseEvent(.press(button: b), x: 7, y: 3))
            XCTAssertEqual(mouse(saescope_button_double_clicked(n)), MouseEvent(.press(button: b), x: 7, y: 3))
            XCTAssertEqual(mouse(saescope_button_triple_clicked(n)), MouseEvent(.press(button: b), x: 7, y: 3))
        }
    }

    func testMotion() {
        let motion = saescope_report_mouse_position()
        XCTAssertEqual(mouse(motion | saescope_button_pressed(1)), MouseEvent(.drag(button: 1), x: 7, y: 3))
        XCTAssertEqual(mouse(motion | saescope_button_pressed(3)), MouseEvent(.drag(button: 3), x: 7, y: 3))
        XCTAssertNil(mouse(motion), "hover without a button is not reported")
        XCTAssertNil(mouse(0))
    }

    func testMaskHelpersAreDistinct() {
        var seen = Set<mmask_t>()
        for n: Int32 in 1...5 {
            for m in [saescope_button_pressed(n), saescope_button_released(n), saescope_button_clicked(n),
                      saescope_button_double_clicked(n), saescope_button_triple_clicked(n)] {
                XCTAssertNotEqual(m, 0)
                XCTAssertTrue(seen.insert(m).inserted)
                XCTAssertEqual(m & saescope_all_mouse_events(), m)
            }
        }
        XCTAssertEqual(saescope_button_pressed(6), 0)
    }
}
