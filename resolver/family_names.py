"""Vietnamese family names, middle-name markers and forms of address, as data for resolver/name.py.

Source: ../shared/reference/vn_names.md — section 2.2 (the 121 family names with their evidence),
2.3 (compound family names), 2.4 (minority family and clan names), 3.1 (middle names), 4.1 (names
that are both family and given names) and 4.2 (honorifics). Frequencies are not used here; the
list only guesses the order of a name, and the guess is kept as a guess (flagged).
"""

from __future__ import annotations

# Section 2.2, in the reference's order (most frequent first), plus the "seen in data" names below it.
FAMILY_NAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Trương Đinh Đoàn Đào Trịnh Hà "
    "Mai Lương Cao Phùng Lưu Lâm Tạ Chu Vương Thái Quách Triệu Tô Kiều Nông Châu Lại Đàm Văn La Ma Hứa Tăng "
    "Tống Bạch Khuất Đồng Giang Nghiêm Lư Từ Vi Vy Diệp Phí Điêu Cấn Lò Tôn Lục Hồng Thi Chung Kim Bàn Thạch "
    "Thân Trang Đậu Liễu Âu Ninh Quan Sầm Thiệu Mạc Tiêu Khổng Lăng Bế Long Bành Phù Cù Kha Khưu Quang Nhan "
    "Khúc Khương Ưng Hàn Tưởng Uông Trà Mông Vàng Mạch Tất Chế Ông Tào Biện Danh Lộc Ngụy Giáp Nhâm Mã Lạc "
    "Doãn Giản Lỗ Phó Quyền Thảo Vưu Sái Vĩnh "
    "Lã Lữ Viên Ôn Mẫn Ung"
).split()
# Section 2.4: Thái, Hmong, Khmer family names and Tây Nguyên clan names (used in Kinh order or last).
MINORITY_FAMILY_NAMES = (
    "Lường Quàng Tòng Cà Lù Lềm Ngần Cầm Đèo Vì Giàng Sùng Thào Mùa Hầu Sơn "
    "Nay Ksor Kpă Siu Rchom Niê Mlô Êban Byă Adrơng Ksơr Kmăn"
).split()
# Section 2.3: two-token family names (folded), longest first.
COMPOUND_FAMILY_NAMES = ("cong tang ton nu", "cong huyen ton nu", "cong ton nu", "ton that", "ton nu",
                         "nguyen phuc", "nguyen phuoc", "au duong")
# Section 4.1: family names that are also common given names; when both ends of a name are family
# names and the last is one of these, the name is read in Vietnamese order.
ALSO_GIVEN_NAMES = {"lam", "mai", "ha", "duong", "hoang", "kim", "chau", "giang", "quang", "trang", "long",
                    "hong", "thai", "thao", "quyen", "danh", "loc", "ninh", "chung", "van", "vy", "vi", "an", "son", "quan", "tu",
                    "vinh", "nhan", "ngan"}
# Section 3.1: the strong middle-name markers (Thị female, Văn male) and frequent male/female ones.
MIDDLE_MARKERS = {"thị", "văn", "hữu", "đức", "công", "quốc", "ngọc", "thi", "van", "huu", "duc", "cong", "quoc",
                  "ngoc"}

# Section 4.2. Kinship words and titles removed from the front of a name when a name follows.
HONORIFICS = {"anh", "chị", "chi", "em", "cô", "co", "chú", "chu", "bác", "bac", "dì", "cậu", "mợ", "thím", "ông",
              "ong", "bà", "mr", "mrs", "ms", "miss", "kh", "sir", "madam", "mme", "dr", "a", "c", "e"}
# Two-word titles (folded).
HONORIFIC_PAIRS = {"quy khach", "khach hang", "quy co", "quy ong", "quy ba", "co giao", "thay giao"}
# Words that are also given or family names, so they are stripped only in a form that cannot be a
# name: lower-case ("anh Tuấn"), abbreviated with a dot ("A. Tuấn"), or before a family name
# ("Anh Nguyễn Văn Tuấn"). "Ông", "Chu", "Bà" ... are family names too; "A" before a man's name is
# Bahnar usage (section 2.4), so a bare capital "A Huy" is kept.
AMBIGUOUS_HONORIFICS = {"anh", "a", "c", "e", "ong", "chu", "co", "ba", "chi", "bac"}

# Section 4.2: words that make a "name" a shop or a business.
BUSINESS_WORDS = {"shop", "store", "mart", "spa", "nail", "nails", "salon", "boutique", "kho", "si", "quan",
                  "tiem", "cty", "official", "company", "co.,ltd", "ltd", "jsc", "fashion", "cosmetic", "cosmetics",
                  "online", "order"}
BUSINESS_PHRASES = ("cua hang", "cong ty", "hop tac xa")
# Folded business words that are also names are only business words in lower-case or with others:
# "Quan" and "Kim" are names, so "quan"/"si" count only when written as shop words (accented quán/sỉ).
ACCENTED_BUSINESS_WORDS = {"quán", "sỉ", "tiệm", "kho"}
# "Mẹ Bắp", "Ba Su": a parent named after a child's nickname (section 4.2) - the whole name.
PARENT_WORDS = {"mẹ", "má", "bố", "ba", "mom", "me"}

# "Nguyễn Văn A" / "Trần Thị B" are the Vietnamese John Doe (section 4.2), plus "none" spellings.
PLACEHOLDER_NAMES = {"", "-", ".", "x", "xx", "xxx", "n/a", "na", "none", "null", "không có", "khong co", "chưa có",
                     "chua co", "ko co", "không", "khong", "test", "unknown", "no name", "noname", "chưa rõ",
                     "chua ro", "khách", "khach", "khách hàng", "khach hang", "khách lẻ", "khach le", "kh",
                     "zalo user", "facebook user", "người dùng zalo", "nguoi dung zalo", "asdf", "abc", "aaa"}
PLACEHOLDER_FOLDED = {"nguyen van a", "nguyen van b", "tran thi b", "nguyen thi b", "tran van a", "le van a",
                      "nguyen van x", "nguyen thi a"}

# Section 3.2: the commonest given names with their usual spellings (both tone placements), used only
# to choose between readings of legacy-encoded text (resolver/legacy_encoding.py).
COMMON_GIVEN_NAMES = (
    "Anh Ánh Linh Phương Phượng Thanh Thành Nhi Trang Hùng Hưng Dũng Dung Minh Thủy Thuỷ Thúy Thuý Thùy Thuỳ Huy "
    "Ngọc Vy Tiến Tiên Thảo Thu Thư An Ân Hà Hạ Hương Hường Nguyên Hoa Hòa Hoà Ngân Hiếu Duy Vân Khánh My Mỹ "
    "Tuấn Hiền Hiển Nam Lan Mai Hải Sơn Long Hoàng Quang Bảo Hồng Kim Thị Văn Hữu Đức Công Quốc Trọng Mạnh "
    "Diệu Bích Gia Xuân Nhật Tâm Phúc Thắng Tú Trung Việt Cường Đạt Hạnh Hằng Loan Nga Oanh Quỳnh Yến Trâm"
).split()
